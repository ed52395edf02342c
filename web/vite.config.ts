// Vite build of the web app. Run from the repository root: `npx vite build web` (output: dist/web).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

const root = decodeURIComponent(new URL('.', import.meta.url).pathname);

/** Writes .br and .gz next to each text asset, once at build time, for a static server's pre-compressed mode. */
function precompress(): Plugin {
  return {
    name: 'ausculta-precompress',
    apply: 'build',
    async writeBundle(options, bundle) {
      const outDir = options.dir ?? '';
      const files = [...Object.keys(bundle), 'index.html'].filter((name, i, all) => /\.(js|css|html|svg)$/.test(name) && all.indexOf(name) === i);
      for (const name of files) {
        const path = join(outDir, name);
        const content = await readFile(path).catch(() => null);
        // index.html is always compressed: the static server's pre-compressed mode looks for it.
        if (!content || (content.length < 1024 && name !== 'index.html')) continue;
        await writeFile(`${path}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        await writeFile(`${path}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root,
  base: './',
  plugins: [react(), precompress()],
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    // Evergreen browsers only: no modulepreload polyfill nor preload helper in the bundle.
    modulePreload: false,
  },
  server: {
    proxy: {
      '/api': 'http://localhost:3000',
      '/healthz': 'http://localhost:3000',
    },
  },
});
