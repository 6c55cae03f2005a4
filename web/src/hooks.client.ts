import type { HandleClientError } from '@sveltejs/kit'
import { RequestError, UnauthenticatedError } from '$lib/api/graphql'

/** Known failures keep their message on the error page; a lost session offers to sign in again. */
export const handleError: HandleClientError = ({ error, status }) => {
  if (error instanceof UnauthenticatedError)
    return { message: 'Your session has ended.', code: 'UNAUTHENTICATED' }
  if (error instanceof RequestError) return { message: error.message }
  return { message: status === 404 ? 'Not found' : 'Unexpected error in the dashboard; reload the page.' }
}
