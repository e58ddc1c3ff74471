#!/usr/bin/env node
// Makes sure the machine has the programs the build and the local platform use, installing the
// missing Debian packages (idempotent). Go cannot come from Debian (too old): it must be there.
import { spawnSync } from 'node:child_process';

// curl and jq: the bash step of examples/promote.yml, run by the end-to-end tests.
const DEBIAN = { git: 'git', openssl: 'openssl', unzip: 'unzip', unshare: 'util-linux', curl: 'curl', jq: 'jq' };

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

const missing = Object.entries(DEBIAN).filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
if (missing.length) {
  console.log(`installing Debian packages: ${missing.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  for (const args of [['apt-get', 'update', '-qq'], ['apt-get', 'install', '-y', '-qq', ...missing]]) {
    const r = spawnSync(sudo[0] ?? args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      console.error(`"${args.join(' ')}" failed; install ${missing.join(', ')} and run again.`);
      process.exit(1);
    }
  }
}
if (!has('go')) {
  console.error('Go 1.26 or newer is needed to build the local Kubernetes platform (kube-apiserver, etcd, Flux, Sealed Secrets). Install it from go.dev and put it on PATH.');
  process.exit(1);
}
