import { InputError } from './errors';

/** Validators shared by the tasks' input readers; each throws an InputError naming the input. */

export function dnsLabel(value: string, input: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) {
    throw new InputError(input, `'${value}' is not a valid Kubernetes name`, 'a DNS label: lowercase letters, digits and -, at most 63 characters, starting and ending with a letter or digit');
  }
  return value;
}

export function goDuration(value: string, input: string): string {
  if (!/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/.test(value)) {
    throw new InputError(input, `'${value}' is not a duration`, 'a Go duration such as 30s, 1m or 1h30m');
  }
  return value;
}

export function sha256Hex(value: string | undefined, input: string): string | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(v)) throw new InputError(input, `'${value}' is not a SHA-256 digest`, '64 hexadecimal characters');
  return v;
}

export function semverLike(value: string, input: string): string {
  const v = value.replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+$/.test(v)) throw new InputError(input, `'${value}' is not a release version`, 'a version such as 2.9.4');
  return v;
}

export function httpUrl(value: string, input: string, protocols = ['https:', 'http:']): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(input, `'${value}' is not a URL`, `an absolute ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new InputError(input, `'${value}' uses ${url.protocol.replace(':', '')}`, `a ${protocols.map((p) => p.replace(':', '')).join(' or ')} URL`);
  }
  return url;
}
