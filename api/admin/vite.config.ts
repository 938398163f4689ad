// Built into dist/ with hashed asset names under /admin/assets/; the api
// serves dist/ at /admin (CMS_ADMIN_DIR) with immutable caching for assets
// and a strict CSP. No asset is fetched from anywhere else at run time.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  resolve: {
    alias: {
      // See src/editor/noAjv.ts: Ajv needs 'unsafe-eval'; it never ships.
      '@rjsf/validator-ajv8': fileURLToPath(new URL('./src/editor/noAjv.ts', import.meta.url)),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inlined assets would need `data:` in the CSP's script/style sources.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
