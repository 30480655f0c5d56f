// Shapes the server answers with (see /api/docs).

export interface Me {
  id: number
  username: string
  display_name: string
  roles: string[]
  role_names: string[]
  actions: string[]
  jurisdiction_path: string | null
  jurisdiction_name: string | null
  unit: { id: number; code: string; name: string } | null
  language: string
}

export interface TimelineEntry {
  id: number
  at: string
  actor_name: string
  action: string
  from_state: string | null
  to_state: string
  reason: string | null
  detail: Record<string, unknown>
}

export interface Attachment {
  id: number
  sha256: string
  content_type: string
  size: number
  stage: string
  created_at: string
  url: string
}

export interface CategorySuggestion {
  code: string
  label: string
  p: number
}

export interface Matter {
  id: number
  number: string
  title: string
  description: string
  category_code: string | null
  channel: string
  urgency: string
  risk_colour: string
  state: string
  state_name: string
  level: number
  lon: number | null
  lat: number | null
  address: string | null
  grid_code: string | null
  region_path: string
  reporter_name: string | null
  reporter_phone: string | null
  unit_id: number | null
  unit_name: string | null
  merged_into_id: number | null
  reported_at: string
  sign_due_at: string | null
  reply_due_at: string | null
  resolve_due_at: string | null
  due_flagged: boolean
  overdue: boolean
  supervision: number
  extension_until: string | null
  rating: string | null
  suggestion: { unit_id?: number; unit_code?: string; unit_name?: string; level?: number; reason?: string } | null
  category_suggestions: { model: string; threshold: number; sure?: string | null; items: CategorySuggestion[] } | null
  possible_duplicates: { id: number; number: string; title: string; score: number }[]
  allowed_actions: string[]
  timeline: TimelineEntry[] | null
  attachments: Attachment[] | null
}

export interface MatterPage {
  total: number
  items: Matter[]
  counts: Record<string, number>
}

export interface Category {
  code: string
  name: string
  name_en?: string
  parent_code?: string | null
}

export interface Unit {
  id: number
  code: string
  name: string
  kind?: string
  region_path?: string | null
}

export interface GridInfo {
  code: string
  name: string
  kind: string
  kind_name: string
  path: string
  region_code: string
  region_name: string
  centroid: [number, number]
  area_km2: number
  geometry?: GeoJSON.Geometry | null
}

export const OPEN_STATES = ['reported', 'accepted', 'dispatched', 'in_progress', 'handled', 'verifying']
export const ALL_STATES = [...OPEN_STATES, 'closed', 'evaluated', 'rejected', 'merged']
