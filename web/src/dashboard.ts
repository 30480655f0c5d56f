// What GET /api/dashboard answers, and the way from a figure to its matters: each count
// carries the inbox's query for exactly the matters it counts (null where the inbox's
// filters cannot express the figure; then it is no link).
import type { RouteLocationRaw } from 'vue-router'
import type { components } from './api-types'

/** One level of the breadcrumb (GET /api/dashboard/trail, and the dashboard's `trail`). */
export type TrailStep = components['schemas']['TrailStepOut']

/** The inbox's URL parameters: place, state (repeated), overdue=1, from, to. */
export type ListQuery = Record<string, string | string[]>
export type Lists = Record<string, ListQuery | null | undefined>

export interface Rank {
  code: string
  name: string
  reported: number
  accepted: number
  closed: number
  closed_on_time: number
  overdue: number
  closure_rate: number | null
  on_time_closure_rate: number | null
  lists: Lists
}

export interface Day {
  day: string
  reported: number
  closed: number
  lists: Lists
}

export interface Indicators {
  reported: number
  accepted: number
  closed: number
  closed_by_level: Record<string, number>
  avg_seconds: Record<string, number | null>
  rates: Record<string, number | null>
}

export interface Dashboard {
  region: { code: string; name: string } | null
  today: string
  today_reported: number
  open: number
  overdue: number
  closed: number
  indicators: Indicators
  ranking: Rank[]
  trend: Day[]
  lists: Lists
  trail: TrailStep[]
}

/** The inbox listing a figure's matters, marked as reached from the dashboard. */
export function inboxOf(query: ListQuery): RouteLocationRaw {
  return { path: '/inbox', query: { ...query, via: 'dashboard' } }
}

/** The dashboard at a region or grid. */
export function dashboardAt(code: string): RouteLocationRaw {
  return { path: '/dashboard', query: { region: code } }
}
