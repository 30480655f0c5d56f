// One way to tell the user that something failed: the server's own message when it answered
// (already in the caller's language), the page's words otherwise.
import { ElMessage } from 'element-plus'
import { ApiError } from './api'
import { tr } from './i18n'

/** The words for a failure: an ApiError's message, a string as it is, else `fallback`. */
export function errorText(e: unknown, fallback?: string): string {
  if (e instanceof ApiError) return e.message
  if (typeof e === 'string' && e) return e
  return fallback ?? tr('common.error')
}

/** Shows the failure as an error message and returns its words. `customClass` gives the
 *  message a page's palette (it is placed on <body>, outside the page). */
export function showError(e: unknown, options: { fallback?: string; customClass?: string } = {}): string {
  const message = errorText(e, options.fallback)
  ElMessage({ type: 'error', message, showClose: true, duration: 6000, customClass: options.customClass })
  return message
}
