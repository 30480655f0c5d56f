import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Built into the Python package, which serves it (src/fengqiao/web).
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: process.env.FENGQIAO_WEB_OUT || '../src/fengqiao/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
