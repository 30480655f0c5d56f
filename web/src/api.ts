// One door to the server: the token, the language, and errors as readable messages.
import { ref } from 'vue'

const TOKEN_KEY = 'fengqiao.token'
const REFRESH_KEY = 'fengqiao.refresh'

export const language = ref<'zh' | 'en'>(
  (localStorage.getItem('fengqiao.lang') as 'zh' | 'en') || 'zh',
)

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message)
  }
}

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY)
}

export function setTokens(access: string | null, refresh?: string | null): void {
  if (access) localStorage.setItem(TOKEN_KEY, access)
  else localStorage.removeItem(TOKEN_KEY)
  if (refresh) localStorage.setItem(REFRESH_KEY, refresh)
  else if (refresh === null || !access) localStorage.removeItem(REFRESH_KEY)
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

async function refreshed(): Promise<boolean> {
  const refresh = localStorage.getItem(REFRESH_KEY)
  if (!refresh) return false
  const resp = await fetch('/api/auth/refresh', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: refresh }),
  })
  if (!resp.ok) return false
  const body = await resp.json()
  setTokens(body.access_token, body.refresh_token)
  return true
}

export const unauthorised = ref(0) // bumped when the session is over; the app goes to login

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  query?: Query,
  retry = true,
): Promise<T> {
  const headers: Record<string, string> = { 'Accept-Language': language.value }
  const t = token()
  if (t) headers.Authorization = `Bearer ${t}`
  let payload: BodyInit | undefined
  if (body instanceof FormData) payload = body
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json'
    payload = JSON.stringify(body)
  }
  const resp = await fetch(path + queryString(query), { method, headers, body: payload })
  if (resp.status === 401 && retry && t && (await refreshed())) {
    return request<T>(method, path, body, query, false)
  }
  if (!resp.ok) {
    let code = `http_${resp.status}`
    let message = resp.statusText
    try {
      const err = (await resp.json()).error
      code = err?.code ?? code
      message = err?.message ?? message
    } catch {
      /* not JSON */
    }
    if (resp.status === 401) {
      setTokens(null)
      unauthorised.value++
    }
    throw new ApiError(resp.status, code, message)
  }
  if (resp.status === 204) return undefined as T
  return (await resp.json()) as T
}

/** A protected file (a matter's photo) as an object URL, fetched with the Bearer token (an
 * <img> cannot send it). The caller revokes the URL when the image goes. */
export async function objectUrl(path: string): Promise<string> {
  const headers: Record<string, string> = {}
  const t = token()
  if (t) headers.Authorization = `Bearer ${t}`
  const resp = await fetch(path, { headers })
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
