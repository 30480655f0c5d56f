// The one client of the matters API: list, read, report, act on a matter, add a photo.
import { api, type Query } from './api'
import type { components } from './api-types'
import type { Attachment, GridCount, Matter, MatterPage } from './types'

export type ReportBody = components['schemas']['ReportIn']

export function listMatters(query?: Query): Promise<MatterPage> {
  return api.get<MatterPage>('/api/matters', query)
}

export function getMatter(id: number | string): Promise<Matter> {
  return api.get<Matter>(`/api/matters/${id}`)
}

export function gridCounts(): Promise<GridCount[]> {
  return api.get<GridCount[]>('/api/matters/grid-counts')
}

/** A new matter; the same `idempotency_key` again finds the one already made. */
export function reportMatter(body: ReportBody): Promise<Matter> {
  return api.post<Matter>('/api/matters', body)
}

/** Takes one lifecycle action (the server checks who may, when, and with which fields). */
export function act(id: number | string, action: string, body: Record<string, unknown> = {}): Promise<Matter> {
  return api.post<Matter>(`/api/matters/${id}/actions/${encodeURIComponent(action)}`, body)
}

/** A photo of the matter, at a stage of its handling (report, verify…). */
export function addPhoto(id: number | string, stage: string, photo: Blob, filename?: string): Promise<Attachment> {
  const form = new FormData()
  form.append('file', photo, filename ?? (photo instanceof File ? photo.name : `photo.${extension(photo.type)}`))
  form.append('stage', stage)
  return api.post<Attachment>(`/api/matters/${id}/attachments`, form)
}

function extension(type: string): string {
  return type === 'image/png' ? 'png' : type === 'image/webp' ? 'webp' : type === 'image/heic' ? 'heic' : 'jpg'
}

/** The matter meant by what a person typed: its id, or its number (as printed). */
export async function findMatter(typed: string): Promise<Matter | null> {
  const raw = typed.trim()
  if (!raw) return null
  if (/^\d{1,9}$/.test(raw)) return getMatter(raw)
  const page = await listMatters({ q: raw, limit: 5 })
  return page.items.find((m) => m.number.toLowerCase() === raw.toLowerCase()) ?? null
}
