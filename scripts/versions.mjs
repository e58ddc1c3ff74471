// One place stamps every version: package.json's version is the extension's version, and each
// task's Minor.Patch (agents cache tasks by version, so every release must bump them). The task
// majors stay as task.json declares them.
import { createHash } from 'node:crypto';

export function stampTask(def, version, dev) {
  const [, minor, patch] = parse(version);
  const stamped = { ...def, version: { Major: def.version.Major, Minor: minor, Patch: patch } };
  if (dev) {
    stamped.id = devTaskId(def.id);
    stamped.name = `${def.name}Dev`;
    stamped.friendlyName = `${def.friendlyName} (dev)`.slice(0, 40);
  }
  return stamped;
}

export function stampManifest(manifest, version, dev) {
  const stamped = { ...manifest, version };
  if (dev) {
    stamped.id = `${manifest.id}-dev`;
    stamped.name = `${manifest.name} (dev)`;
    stamped.public = false;
    delete stamped.galleryFlags;
  }
  return stamped;
}

/** The private build's task GUID: derived from the public one (a name-based UUID), so it is stable. */
export function devTaskId(publicId) {
  const hash = createHash('sha1').update(`${publicId}/dev`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function parse(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) throw new Error(`package.json version ${version} is not major.minor.patch`);
  return m.slice(1).map(Number);
}
