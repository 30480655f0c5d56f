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

/** green: on time; yellow: flagged, or under 4 working hours left; red: overdue. The time
 *  left is the server's, counted in working time on the calendar. */
export function deadlineColour(m: Matter): 'green' | 'yellow' | 'red' {
  const left = m.time_left_minutes
  if (m.overdue || (left !== null && left !== undefined && left < 0)) return 'red'
  if (m.due_flagged || (left !== null && left !== undefined && left < 4 * 60)) return 'yellow'
  return 'green'
}

export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}
