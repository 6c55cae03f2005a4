import { sveltekit } from '@sveltejs/kit/vite'
import { defineConfig } from 'vite'

// `pnpm dev` proxies the API to a server started with `npm start` (PORT 4000).
const api = process.env.SWITCHYARD_API ?? 'http://127.0.0.1:4000'

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/graphql': { target: api, ws: true },
      '/embed': { target: api },
    },
  },
  build: {
    // Keep builds lean on small machines; the size is measured by the tests.
    reportCompressedSize: false,
  },
})
