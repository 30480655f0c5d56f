import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { VitePWA } from 'vite-plugin-pwa'
import { viteStaticCopy } from 'vite-plugin-static-copy'

const SWAGGER_UI = 'node_modules/swagger-ui-dist'

// Built into the Python package, which serves it (src/fengqiao/web).
export default defineConfig({
  plugins: [
    vue(),
    // A service worker keeps the app itself on the phone, so that a grid worker can open it
    // and queue reports with no network at all; /api is never cached.
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script',
      manifest: false,
      workbox: {
        globPatterns: ['**/*.{js,css,html,png,svg}'],
        clientsClaim: true,
        skipWaiting: true,
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//],
        maximumFileSizeToCacheInBytes: 6 * 1024 * 1024,
        globIgnores: ['apidocs/**'], // the API documentation is not for the phone
      },
    }),
    // The API documentation (/api/docs) runs Swagger UI from these files, not from a CDN;
    // its page and start script are in public/apidocs.
    viteStaticCopy({
      targets: ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'LICENSE'].map((f) => ({
        src: `${SWAGGER_UI}/${f}`,
        dest: 'apidocs',
        rename: { stripBase: true },
      })),
    }),
  ],
  build: {
    outDir: process.env.FENGQIAO_WEB_OUT || '../src/fengqiao/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
