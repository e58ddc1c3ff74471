#!/usr/bin/env node
// Draws the extension and task icons (PNG, no image library needed): a hexagon, the shape of
// Kubernetes, in each task's colour with a white mark. Run once after changing a colour.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};

function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      // 4x4 supersampling for smooth edges.
      let acc = [0, 0, 0, 0];
      for (let sy = 0; sy < 4; sy++) for (let sx = 0; sx < 4; sx++) {
        const p = pixel((x + (sx + 0.5) / 4) / size, (y + (sy + 0.5) / 4) / size);
        acc = acc.map((v, i) => v + p[i] / 16);
      }
      raw.set(acc.map(Math.round), y * (size * 4 + 1) + 1 + x * 4);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const inHexagon = (x, y, r) => {
  const dx = Math.abs(x - 0.5);
  const dy = Math.abs(y - 0.5);
  return dy <= r * Math.sqrt(3) / 2 && dx * Math.sqrt(3) / 2 + dy / 2 <= r * Math.sqrt(3) / 2;
};

const marks = {
  // a cloud-ish ring (cluster), a key, a loop arrow (sync), a person (system)
  cluster: (x, y) => Math.abs(Math.hypot(x - 0.5, y - 0.5) - 0.16) < 0.045,
  key: (x, y) => Math.abs(Math.hypot(x - 0.4, y - 0.5) - 0.09) < 0.04 || (x > 0.47 && x < 0.7 && Math.abs(y - 0.5) < 0.035) || (x > 0.6 && x < 0.65 && y > 0.5 && y < 0.6),
  sync: (x, y) => Math.abs(Math.hypot(x - 0.5, y - 0.5) - 0.15) < 0.04 && !(x > 0.5 && y < 0.5 && y > 0.3) || (x > 0.5 && x < 0.68 && y > 0.3 && y < 0.36 && y > 0.3 + (x - 0.5) * 0),
  system: (x, y) => Math.hypot(x - 0.5, y - 0.4) < 0.08 || (Math.hypot(x - 0.5, y - 0.68) < 0.16 && y < 0.66 && y > 0.52),
  all: (x, y) => Math.abs(Math.hypot(x - 0.5, y - 0.5) - 0.18) < 0.05 || Math.hypot(x - 0.5, y - 0.5) < 0.06,
};

function icon(size, [r, g, b], mark) {
  return png(size, (x, y) => {
    if (!inHexagon(x, y, 0.48)) return [0, 0, 0, 0];
    return marks[mark](x, y) ? [255, 255, 255, 255] : [r, g, b, 255];
  });
}

const root = new URL('..', import.meta.url).pathname;
writeFileSync(`${root}images/extension-icon.png`, icon(128, [50, 108, 229], 'all'));
writeFileSync(`${root}tasks/AksBootstrap/icon.png`, icon(32, [0, 120, 212], 'cluster'));
writeFileSync(`${root}tasks/InstallSealedSecrets/icon.png`, icon(32, [16, 124, 16], 'key'));
writeFileSync(`${root}tasks/FluxBootstrap/icon.png`, icon(32, [80, 70, 200], 'sync'));
writeFileSync(`${root}tasks/RegisterSystem/icon.png`, icon(32, [202, 80, 16], 'system'));
