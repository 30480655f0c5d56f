// Reports made without network wait in IndexedDB and are sent, with the idempotency key made
// when they were written, as soon as the network is back: a retry never makes a second matter.
// Progress is kept as it goes: once the matter exists its id is remembered, and each photo
// leaves the queue as soon as it is uploaded, so a retry never uploads a photo twice.
// A phone may be shared: each report is sent only in the session of the user who wrote it,
// and other users see how many wait, never what.
import { openDB, type IDBPDatabase } from 'idb'
import { ref, watch } from 'vue'
import { ApiError, signedIn } from './api'
import { addPhoto, reportMatter, type ReportBody } from './matters'
import { me } from './session'
import type { Matter } from './types'

export interface QueuedReport {
  key: string // idempotency key, also the queue key
  body: Record<string, unknown>
  photos: Blob[]
  queuedAt: string
  lastError?: string // the last failure, in the user's language ('' for no network)
  refused?: boolean // the server refused it (bad input): not retried by itself
  attempts?: number
  lastTriedAt?: string
  matterId?: number // the matter exists already; only photos are left to send
  number?: string
  owner?: number // the user who wrote it (reports queued before owners were kept have none)
}

const DB = 'fengqiao-offline'
const STORE = 'reports'
let db: Promise<IDBPDatabase> | null = null

function open(): Promise<IDBPDatabase> {
  db ??= openDB(DB, 1, {
    upgrade(d) {
      d.createObjectStore(STORE, { keyPath: 'key' })
    },
  })
  return db
}

/** How many of the signed-in user's reports wait in the queue. */
export const pending = ref(0)
/** How many reports of other users of this phone wait for them to sign in. */
export const othersPending = ref(0)
/** The matter of the last report sent. */
export const lastSent = ref<Matter | null>(null)
/** Matters sent since the page was loaded, by idempotency key. */
export const sentMatters = ref<Record<string, Matter>>({})
/** Photos the server refused for a matter that was created all the same, by key. */
export const photoErrors = ref<Record<string, string>>({})
/** The key of the report being sent right now. */
export const sendingKey = ref<string | null>(null)
/** Bumped whenever the queue changes, so pages showing it can read it again. */
export const queueVersion = ref(0)

export function newKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') {
    return `web-${crypto.randomUUID()}`
  }
  // crypto.randomUUID needs a secure context; a phone on plain http over the LAN has none.
  const bytes = new Uint8Array(16)
  crypto.getRandomValues(bytes)
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

function ownReport(r: QueuedReport): boolean {
  return !!me.value && (r.owner === undefined || r.owner === me.value.id)
}

async function count(): Promise<void> {
  const all: QueuedReport[] = await (await open()).getAll(STORE)
  pending.value = all.filter(ownReport).length
  othersPending.value = all.length - pending.value
  queueVersion.value++
}

/** The signed-in user's queued reports, oldest first. */
export async function queued(): Promise<QueuedReport[]> {
  const all: QueuedReport[] = await (await open()).getAll(STORE)
  return all.filter(ownReport).sort((a, b) => a.queuedAt.localeCompare(b.queuedAt))
}

/** Queues a report as the signed-in user's. */
export async function enqueue(report: QueuedReport): Promise<void> {
  await (await open()).put(STORE, { ...report, owner: report.owner ?? me.value?.id })
  await count()
}

/** Drops a queued report without sending it (one the server refused, say). */
export async function discard(key: string): Promise<void> {
  await (await open()).delete(STORE, key)
  await count()
}

async function save(report: QueuedReport): Promise<void> {
  const store = await open()
  // Only update what is still queued: a report discarded meanwhile stays gone.
  if (await store.getKey(STORE, report.key)) {
    await store.put(STORE, report)
    queueVersion.value++
  }
}

/** A refusal for good: bad input, not a passing trouble (session, rate limit, server). */
function refusal(e: unknown): e is ApiError {
  return (
    e instanceof ApiError && e.status >= 400 && e.status < 500 && ![401, 403, 408, 429].includes(e.status)
  )
}

/**
 * Sends one report and its photos. The matter is made (or found again by its key) first;
 * each photo then goes once. `progress` is told of each step so the queue can remember it.
 */
export async function send(
  report: QueuedReport,
  progress?: (r: QueuedReport) => Promise<void>,
): Promise<Matter> {
  const matter = await reportMatter({ ...(report.body as ReportBody), idempotency_key: report.key })
  let r: QueuedReport = { ...report, matterId: matter.id, number: matter.number }
  if (report.matterId !== matter.id) await progress?.(r)
  while (r.photos.length) {
    const photo = r.photos[0]
    try {
      await addPhoto(matter.id, 'report', photo)
    } catch (e) {
      if (!refusal(e)) throw e
      // The matter stands; a photo the server will never take is dropped, and said so.
      photoErrors.value = { ...photoErrors.value, [r.key]: e.message }
    }
    r = { ...r, photos: r.photos.slice(1) }
    await progress?.(r)
  }
  return matter
}

let flushing: Promise<number> | null = null
let again = false
let retryRefused = false

/**
 * Sends every queued report; keeps those the network failed, and keeps those the server
 * refused with the reason (not retried unless `includeRefused`, e.g. the user's "send now").
 * A call while a flush runs makes it go round once more, so a report just queued is not missed.
 */
export function flush(includeRefused = false): Promise<number> {
  if (includeRefused) retryRefused = true
  if (!signedIn()) return Promise.resolve(0) // signed out: wait for the next sign-in
  if (flushing) {
    again = true
    return flushing
  }
  flushing = (async () => {
    let sent = 0
    try {
      do {
        again = false
        const withRefused = retryRefused
        retryRefused = false
        for (const report of await queued()) {
          if (report.refused && !withRefused) continue
          const tried = {
            ...report,
            attempts: (report.attempts ?? 0) + 1,
            lastTriedAt: new Date().toISOString(),
          }
          sendingKey.value = report.key
          try {
            const matter = await send(tried, save)
            await (await open()).delete(STORE, report.key)
            sentMatters.value = { ...sentMatters.value, [report.key]: matter }
            lastSent.value = matter
            sent++
          } catch (e) {
            const latest: QueuedReport = { ...tried, ...((await (await open()).get(STORE, report.key)) ?? {}) }
            if (refusal(e)) {
              await save({ ...latest, attempts: tried.attempts, lastTriedAt: tried.lastTriedAt, lastError: e.message, refused: true })
            } else if (e instanceof ApiError) {
              // Server trouble or the session: keep it and try again later.
              await save({ ...latest, attempts: tried.attempts, lastTriedAt: tried.lastTriedAt, lastError: e.message, refused: false })
            } else {
              // No network: stop here, the rest would fail the same way.
              await save({ ...latest, attempts: tried.attempts, lastTriedAt: tried.lastTriedAt, lastError: '', refused: false })
              again = false
              break
            }
          } finally {
            sendingKey.value = null
          }
        }
      } while (again)
    } finally {
      await count()
      flushing = null
    }
    return sent
  })()
  return flushing
}

/** Makes a big camera photo small enough for a slow network (longest side 1920 px, JPEG). */
export async function shrinkPhoto(file: Blob, longest = 1920): Promise<Blob> {
  if (!/^image\/(jpeg|png|webp)$/.test(file.type) || file.size < 600 * 1024) return file
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
    const scale = Math.min(1, longest / Math.max(bitmap.width, bitmap.height))
    const canvas = document.createElement('canvas')
    canvas.width = Math.round(bitmap.width * scale)
    canvas.height = Math.round(bitmap.height * scale)
    canvas.getContext('2d')?.drawImage(bitmap, 0, 0, canvas.width, canvas.height)
    bitmap.close()
    const small = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85))
    return small && small.size < file.size ? small : file
  } catch {
    return file // cannot decode it here (HEIC, say): send it as it is
  }
}

let started = false

export function startOfflineSync(): void {
  if (started) return
  started = true
  window.addEventListener('online', () => void flush())
  // Another user signed in (or the same one again): their reports are the ones to send now.
  watch(
    () => me.value?.id,
    () => void count().then(() => (navigator.onLine ? flush() : 0)),
  )
  // 'online' is not always told (a network that comes back without the phone noticing):
  // try again now and then while something waits.
  window.setInterval(() => {
    if (pending.value && navigator.onLine) void flush()
  }, 60_000)
  void count().then(() => (navigator.onLine ? flush() : 0))
}
