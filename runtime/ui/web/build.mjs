// Bundles src/main.js (and the CSS it imports) into OUTDIR/app.js and
// OUTDIR/app.css with esbuild's JS API: node build.mjs NODE_MODULES OUTDIR.
// NODE_MODULES is the build tree's (CMake runs `npm ci` there), so the
// source tree holds no installed package.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [nodeModules, outdir] = process.argv.slice(2);
if (!nodeModules || !outdir) {
  console.error('usage: node build.mjs NODE_MODULES OUTDIR');
  process.exit(2);
}
const esbuild = createRequire(join(nodeModules, 'noop.js'))('esbuild');
const here = dirname(fileURLToPath(import.meta.url));
await esbuild.build({
  entryPoints: [join(here, 'src', 'main.js')],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  outfile: join(outdir, 'app.js'),
  nodePaths: [nodeModules],
  logLevel: 'warning',
});
