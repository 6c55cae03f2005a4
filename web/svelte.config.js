import adapter from '@sveltejs/adapter-node'
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte'

/** The server imports build/handler.js (server/src/http/dashboard.ts): keep `out: 'build'`. */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build', precompress: true }),
    // Absolute asset paths: the one page shell is served for every route, and a relative
    // `./favicon.svg` asked from /admin/users would be /admin/favicon.svg (404).
    paths: { relative: false },
  },
}

export default config
