// The signed-in user and what their roles open to them.
import { computed, ref } from 'vue'
import { ApiError, TOKEN_TRANSPORT, api, request, setToken, signedIn } from './api'
import type { Me } from './types'

export const me = ref<Me | null>(null)
const ME_KEY = 'fengqiao.me'

export const GRID_STAFF = ['grid_head', 'grid_instructor', 'grid_worker_fulltime', 'grid_worker_parttime']
export const DISPATCH = ['dispatcher', 'leader', 'admin']

export function hasRole(...roles: string[]): boolean {
  return !!me.value && me.value.roles.some((r) => roles.includes(r))
}

export const isGridStaff = computed(() => hasRole(...GRID_STAFF))
export const isDispatcher = computed(() => hasRole(...DISPATCH))
export const isHandler = computed(() => hasRole('unit_handler'))
export const isAdmin = computed(() => hasRole('admin'))
export const isMediator = computed(() => hasRole('mediator'))

export async function loadMe(): Promise<Me | null> {
  if (!signedIn()) {
    me.value = null
    return null
  }
  try {
    // With no access token (dropped) the request refreshes through the cookie first.
    me.value = await api.get<Me>('/api/me')
    localStorage.setItem(ME_KEY, JSON.stringify(me.value))
  } catch (e) {
    // No network (a phone on a boat): carry on as the user last seen with this token.
    const cached = localStorage.getItem(ME_KEY)
    me.value = !(e instanceof ApiError) && cached ? (JSON.parse(cached) as Me) : null
  }
  return me.value
}

export async function login(username: string, password: string): Promise<Me | null> {
  // The refresh token goes into an HttpOnly cookie; the answer holds the access token only.
  const pair = await request<{ access_token: string }>(
    'POST',
    '/api/auth/login',
    { username, password },
    undefined,
    false,
    TOKEN_TRANSPORT,
  )
  setToken(pair.access_token)
  return loadMe()
}

export async function logout(): Promise<void> {
  try {
    await api.post('/api/auth/logout')
  } catch {
    // Signed out here all the same; with no network the server's session ends at its expiry.
  } finally {
    setToken(null) // the server cleared the refresh cookie (when it could be reached)
    localStorage.removeItem(ME_KEY)
    me.value = null
  }
}

/** Where each role starts. */
export function homeFor(user: Me | null): string {
  if (!user) return '/login'
  const r = user.roles
  if (r.some((x) => DISPATCH.includes(x))) return r.includes('leader') ? '/dashboard' : '/inbox'
  if (r.includes('unit_handler')) return '/tasks'
  if (r.some((x) => GRID_STAFF.includes(x))) return '/m'
  if (r.includes('mediator')) return '/mediation' // the mediator's workbench
  return '/m/report'
}
