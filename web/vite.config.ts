import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import { VitePWA } from 'vite-plugin-pwa'

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
      },
    }),
  ],
  build: {
    outDir: process.env.FENGQIAO_WEB_OUT || '../src/fengqiao/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
