// Live changes of matters from the server (GET /api/matters/stream, server-sent events read
// through fetch so the Bearer token goes with them). One connection for the whole console,
// open while some page listens; it reconnects from the last change it heard, with a fresh
// token when the old one has expired.
import { ref } from 'vue'
import { language, refreshed, token } from './api'

export interface MatterChange {
  id: number
  number: string
  title: string
  state: string
  state_name: string
  urgency: string
  version: number
  updated_at: string
  pinned: boolean
}

type Listener = (change: MatterChange) => void

const listeners = new Set<Listener>()
/** Whether the stream is open now (the page says "live" or "reconnecting"). */
export const connected = ref(false)
let controller: AbortController | null = null
let since: string | null = null

/** Calls `listener` for every change until the returned function is called. */
export function onMatterChange(listener: Listener): () => void {
  listeners.add(listener)
  if (!controller) void run()
  return () => {
    listeners.delete(listener)
    if (!listeners.size) {
      controller?.abort()
      controller = null
      connected.value = false
    }
  }
}

async function run(): Promise<void> {
  const mine = new AbortController()
  controller = mine
  let delay = 1000
  while (controller === mine && !mine.signal.aborted) {
    try {
      await readOnce(mine.signal)
      delay = 1000 // the server ended a long stream: at once again
    } catch {
      if (mine.signal.aborted) break
      delay = Math.min(delay * 2, 30_000)
    }
    connected.value = false
    await new Promise((resolve) => setTimeout(resolve, delay))
  }
}

async function readOnce(signal: AbortSignal): Promise<void> {
  const stale = token()
  const query = since ? `?since=${encodeURIComponent(since)}` : ''
  const resp = await fetch(`/api/matters/stream${query}`, {
    headers: { Authorization: `Bearer ${stale ?? ''}`, 'Accept-Language': language.value, Accept: 'text/event-stream' },
    signal,
  })
  if (resp.status === 401) {
    if (!(await refreshed(stale))) throw new Error('signed out')
    return
  }
  if (!resp.ok || !resp.body) throw new Error(`stream ${resp.status}`)
  connected.value = true
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      dispatch(buffer.slice(0, end))
      buffer = buffer.slice(end + 2)
    }
  }
}

function dispatch(block: string): void {
  let event = 'message'
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim()
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
  }
  if (event !== 'matter' || !data.length) return
  const change = JSON.parse(data.join('\n')) as MatterChange
  if (!since || change.updated_at > since) since = change.updated_at
  for (const listener of listeners) listener(change)
}
