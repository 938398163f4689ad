// Built into dist/ with hashed asset names under /admin/assets/; the api
// serves dist/ at /admin (CMS_ADMIN_DIR) with immutable caching for assets
// and a strict CSP. No asset is fetched from anywhere else at run time.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inlined assets would need `data:` in the CSP's script/style sources.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
