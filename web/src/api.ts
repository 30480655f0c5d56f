// One door to the server: the token, the language, and errors as readable messages.
// The refresh token never reaches this code: the server keeps it in an HttpOnly cookie
// (asked for with TOKEN_TRANSPORT) and reads it from there on refresh. Only the short-lived
// access token and a mark that a session was opened are kept here.
import { ref } from 'vue'

const TOKEN_KEY = 'fengqiao.token'
const SESSION_KEY = 'fengqiao.session'
const LEGACY_REFRESH_KEY = 'fengqiao.refresh' // where a refresh token was kept before
export const TOKEN_TRANSPORT = { 'X-Token-Transport': 'cookie' }

export const language = ref<'zh' | 'en'>(
  (localStorage.getItem('fengqiao.lang') as 'zh' | 'en') || 'zh',
)

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** the faults by field of a 422 (see fieldErrors.ts), when the server gave them */
    public details?: unknown,
  ) {
    super(message)
  }
}

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY)
}

/** Whether this browser opened a session (its refresh cookie may still be valid). */
export function signedIn(): boolean {
  return !!token() || !!localStorage.getItem(SESSION_KEY) || !!localStorage.getItem(LEGACY_REFRESH_KEY)
}

/** The new access token, or null when the session is over. */
export function setToken(access: string | null): void {
  if (access) {
    localStorage.setItem(TOKEN_KEY, access)
    localStorage.setItem(SESSION_KEY, '1')
  } else {
    localStorage.removeItem(TOKEN_KEY)
    localStorage.removeItem(SESSION_KEY)
    localStorage.removeItem(LEGACY_REFRESH_KEY)
  }
}

export type Query = Record<string, string | number | boolean | (string | number)[] | null | undefined>

export function queryString(query?: Query): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)))
    else params.append(key, String(value))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

async function refreshOnce(): Promise<boolean> {
  // A session opened before the cookie: its token moves into the cookie with this refresh.
  const legacy = localStorage.getItem(LEGACY_REFRESH_KEY)
  const resp = await fetch('/api/auth/refresh', {
    method: 'POST',
    headers: { ...TOKEN_TRANSPORT, 'Content-Type': 'application/json' },
    body: JSON.stringify(legacy ? { refresh_token: legacy } : {}),
  })
  localStorage.removeItem(LEGACY_REFRESH_KEY)
  if (!resp.ok) return false
  setToken((await resp.json()).access_token)
  return true
}

let refreshing: Promise<boolean> | null = null

/**
 * A new access token through the refresh cookie, after `stale` was refused. One refresh at
 * a time, across this browser's tabs where it has Web Locks: the server ends a session whose
 * rotated refresh token comes again, so two refreshes with the same cookie would sign out.
 * A tab that finds a newer token than its stale one (another refreshed meanwhile) takes it.
 */
export function refreshed(stale: string | null): Promise<boolean> {
  if (!signedIn()) return Promise.resolve(false)
  refreshing ??= (async () => {
    try {
      const run = async () => (token() && token() !== stale ? true : refreshOnce())
      return navigator.locks ? await navigator.locks.request('fengqiao.refresh', run) : await run()
    } finally {
      refreshing = null
    }
  })()
  return refreshing
}

export const unauthorised = ref(0) // bumped when the session is over; the app goes to login

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Query,
  retry = true,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const headers: Record<string, string> = { ...extraHeaders, 'Accept-Language': language.value }
  const t = token()
  if (t) headers.Authorization = `Bearer ${t}`
  let payload: BodyInit | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const resp = await fetch(path + queryString(query), { method, headers, body: payload })
  if (resp.status === 401 && retry && (await refreshed(t))) {
    return request<T>(method, path, body, query, false, extraHeaders)
  }
  if (!resp.ok) {
    let code = `http_${resp.status}`
    let message = resp.statusText
    let details: unknown
    try {
      const err = (await resp.json()).error
      code = err?.code ?? code
      message = err?.message ?? message
      details = err?.details
    } catch {
      /* not JSON */
    }
    if (resp.status === 401) {
      setToken(null)
      unauthorised.value++
    }
    throw new ApiError(resp.status, code, message, details)
  }
  if (resp.status === 204) return undefined as T
  return (await resp.json()) as T
}

/** A protected file (a matter's photo) as an object URL, fetched with the Bearer token (an
 * <img> cannot send it). The caller revokes the URL when the image goes. */
export async function objectUrl(path: string, retry = true): Promise<string> {
  const headers: Record<string, string> = {}
  const t = token()
  if (t) headers.Authorization = `Bearer ${t}`
  const resp = await fetch(path, { headers })
  if (resp.status === 401 && retry && (await refreshed(t))) return objectUrl(path, false)
  if (!resp.ok) throw new ApiError(resp.status, 'file', String(resp.status))
  return URL.createObjectURL(await resp.blob())
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, undefined, query),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, body),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
}
