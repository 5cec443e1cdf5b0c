import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The console is served by the API under /console (api/console.ts), same origin as the API it calls.
 * Preact's JSX runtime through esbuild's own JSX transform: no Babel and no framework plugin in the build.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // One module per page family, loaded when first opened: the user page never downloads the operator's pages or the chart library.
    chunkSizeWarningLimit: 250,
    reportCompressedSize: true,
  },
});
