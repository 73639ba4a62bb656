// Shared by the JS client checks that clients.py runs: loading a package installed in .sdk-js
// (the scripts live outside it, so bare imports would not find it) and running named checks,
// one `ok`/`FAIL` line each, then `N passed, M failed`.

import { pathToFileURL } from 'node:url';

// `file` is the package's ESM entry relative to node_modules, e.g. `ai/dist/index.js`.
export const load = (nodeModules, file) => import(pathToFileURL(`${nodeModules}/${file}`).href);

export async function run(checks) {
  let passed = 0;
  let failed = 0;
  for (const [name, check] of Object.entries(checks)) {
    try {
      await check();
      passed += 1;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${name}: ${e.message}`.slice(0, 2000));
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
}
