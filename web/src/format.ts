// Dates, deadline colours and names shared by the pages.
import { language } from './api'
import type { Category, Matter } from './types'

/** A category's name in the console's language (its Chinese name when it has no other). */
export function categoryLabel(c: Category): string {
  return language.value === 'en' && c.name_en ? c.name_en : c.name
}

export function when(value: string | null | undefined): string {
  if (!value) return '—'
  const d = new Date(value)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** green: on time; yellow: flagged as due soon (or within 4 hours); red: overdue. */
export function deadlineColour(m: Matter, now = Date.now()): 'green' | 'yellow' | 'red' {
  if (m.overdue) return 'red'
  const due = m.state === 'dispatched' ? m.sign_due_at : m.resolve_due_at
  if (m.due_flagged || (due && new Date(due).getTime() - now < 4 * 3600_000)) return 'yellow'
  return 'green'
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}
