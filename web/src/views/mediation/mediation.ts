// Mediation cases as the server answers them (the generated API types), and the calls the
// mediation pages make. Every rule stays on the server: what a caller may do with a case is
// its allowed_actions, what they may read is what the server answers.
import { ApiError, api, language, queryString, refreshed, setToken, token, unauthorised, type Query } from '../../api'
import type { components } from '../../api-types'

type Schemas = components['schemas']

export type CaseSummary = Schemas['CaseSummary']
export type Case = Schemas['CaseOut']
export type CasePage = Schemas['CasePage']
export type Party = Schemas['PartyOut']
export type Term = Schemas['TermOut']
export type Agreement = Schemas['AgreementOut']
export type CaseSession = Schemas['SessionOut']
export type CaseEntry = Schemas['CaseEntryOut']
export type MenuEntry = Schemas['MenuEntry']
export type Candidate = Schemas['CandidateOut']
export type Conflict = Schemas['ConflictOut']
export type Thread = Schemas['ThreadOut']
export type Message = Schemas['MessageOut']
export type Committee = Schemas['CommitteeOut']
export type Verified = Schemas['VerifyOut']
export type Scan = Schemas['ScanOut']
export type CaseCreate = Schemas['CaseCreate']

/** The kinds of dispute (the server's Specialty), in its order. */
export const SPECIALTIES = [
  'neighbour',
  'marriage_family',
  'property',
  'labour',
  'traffic',
  'medical',
  'land',
  'consumer',
  'contract',
  'marine_fishery',
  'environment',
] as const

/** One figure of GET /api/mediation/indicators (a group: committee, mediator, kind, region). */
export interface IndicatorRow {
  key: string
  name: string
  cases: number
  ended: number
  successes: number
  success_rate: number | null
  average_days: number | null
  performance_rate_30: number | null
  performance_rate_90: number | null
  confirmation_rate: number | null
  repeat_rate_30: number | null
  repeat_rate_90: number | null
}

/** One stage of GET /api/mediation/funnel. */
export interface FunnelStage {
  stage: string
  name: string
  cases: number
  conversion: number | null
  median_days: number | null
}

const path = (number: string) => `/api/mediation/cases/${encodeURIComponent(number)}`

export const listCases = (query: Query = {}) => api.get<CasePage>('/api/mediation/cases', query)
export const getCase = (number: string, unmasked = false) =>
  api.get<Case>(path(number), unmasked ? { unmasked: true } : undefined)
export const createCase = (body: Partial<CaseCreate>) => api.post<Case>('/api/mediation/cases', body)
export const actOnCase = (number: string, action: string, body: Record<string, unknown> = {}) =>
  api.post<Case>(`${path(number)}/actions/${encodeURIComponent(action)}`, body)
export const candidatesOf = (number: string) => api.get<Candidate[]>(`${path(number)}/candidates`)
export const threadsOf = (number: string) => api.get<Thread[]>(`${path(number)}/threads`)
export const messagesOf = (number: string, thread: string) =>
  api.get<Message[]>(`${path(number)}/messages`, { thread })
export const sendMessage = (number: string, thread: string, body: string) =>
  api.post<Message>(`${path(number)}/messages`, { thread, body })
export const menu = (query: Query = {}) => api.get<MenuEntry[]>('/api/mediation/menu', query)

export function uploadScan(number: string, file: File): Promise<Scan> {
  const form = new FormData()
  form.append('file', file)
  return api.post<Scan>(`${path(number)}/scans`, form)
}

/** Whether a copy of an agreement is the sealed one (no sign-in needed). */
export function verifyCopy(file: File): Promise<Verified> {
  const form = new FormData()
  form.append('file', file)
  return api.post<Verified>('/api/mediation/verify', form)
}

let committeesLoading: Promise<Committee[]> | null = null
/** The committees the caller may see, fetched once (a failed fetch is tried again). */
export function loadCommittees(): Promise<Committee[]> {
  if (!committeesLoading) {
    committeesLoading = api.get<Committee[]>('/api/mediation/committees', { limit: 500 })
    committeesLoading.catch(() => (committeesLoading = null))
  }
  return committeesLoading
}

/** A case's document URL (GET …/documents/{kind}). */
export const documentPath = (number: string, kind: string) => `${path(number)}/documents/${encodeURIComponent(kind)}`

async function fetchFile(url: string, retry = true): Promise<Response> {
  const headers: Record<string, string> = { 'Accept-Language': language.value }
  const stale = token()
  if (stale) headers.Authorization = `Bearer ${stale}`
  const resp = await fetch(url, { headers })
  if (resp.status === 401 && retry && (await refreshed(stale))) return fetchFile(url, false)
  return resp
}

async function refusal(resp: Response): Promise<ApiError> {
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
    setToken(null)
    unauthorised.value++
  }
  return new ApiError(resp.status, code, message)
}

function filenameOf(disposition: string | null, fallback: string): string {
  return /filename\s*=\s*"([^"]+)"/i.exec(disposition ?? '')?.[1] ?? fallback
}

/** Downloads a protected file (a case's PDF) with the Bearer token, under the server's name. */
export async function download(url: string, query?: Query, fallback = 'document.pdf'): Promise<void> {
  const resp = await fetchFile(url + queryString(query))
  if (!resp.ok) throw await refusal(resp)
  const blobUrl = URL.createObjectURL(await resp.blob())
  const link = document.createElement('a')
  link.href = blobUrl
  link.download = filenameOf(resp.headers.get('Content-Disposition'), fallback)
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10_000) // the download has begun by then
}

/** The local calendar day of a moment, as YYYY-MM-DD. */
export function dayOf(value: string | Date): string {
  const d = typeof value === 'string' ? new Date(value) : value
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** Days from today to a calendar day (negative: past). */
export function daysUntil(day: string): number {
  const [y, m, d] = day.split('-').map(Number)
  const due = new Date(y, m - 1, d)
  const now = new Date()
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate())
  return Math.round((due.getTime() - today.getTime()) / 86_400_000)
}

/** green: in time; yellow: three days or fewer left; red: overdue (the server's flag). */
export function dueColour(c: { due_on: string | null; overdue: boolean }): 'green' | 'yellow' | 'red' | null {
  if (!c.due_on) return null
  if (c.overdue) return 'red'
  return daysUntil(c.due_on) <= 3 ? 'yellow' : 'green'
}

/** The capacities in which a caller may see the parties unmasked (the server decides). */
export const MAY_UNMASK = ['mediator', 'head', 'consultant']
