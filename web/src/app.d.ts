import type { Folder, User } from '$lib/api/types'

// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Error {
      message: string
      /** `UNAUTHENTICATED` when the session ended. */
      code?: string
    }

    /** What the root layout load returns, visible to every page through `page.data`. */
    interface PageData {
      me: User | null
      folders: Folder[]
    }
  }
}
