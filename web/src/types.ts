// Shapes the server answers with: the generated types of its OpenAPI document (api-types.ts,
// made by scripts/openapi), narrowed where the server documents a free-form object in words.
import type { components } from './api-types'

type Schemas = components['schemas']

export type Me = Schemas['MeOut']
export type TimelineEntry = Schemas['TimelineOut']
export type Attachment = Schemas['AttachmentOut']
export type Unit = Schemas['UnitOut']
export type GridInfo = Omit<Schemas['GridOut'], 'geometry'> & { geometry?: GeoJSON.Geometry | null }
export type GridDetail = Omit<Schemas['GridDetail'], 'geometry'> & { geometry?: GeoJSON.Geometry | null }
export type TeamMember = Schemas['TeamMemberOut']
export type GridCount = Schemas['GridCountOut']

export interface CategorySuggestion {
  code: string
  label: string
  p: number
}

/** MatterOut with the objects its descriptions spell out. */
export type Matter = Omit<Schemas['MatterOut'], 'suggestion' | 'category_suggestions' | 'possible_duplicates'> & {
  suggestion: { unit_id?: number; unit_code?: string; unit_name?: string; level?: number; reason?: string } | null
  category_suggestions?: { model: string; threshold: number; sure?: string | null; items: CategorySuggestion[] } | null
  possible_duplicates: { id: number; number: string; title: string; score: number }[]
}

export type MatterPage = Omit<Schemas['MatterPage'], 'items'> & { items: Matter[] }

/** GET /api/categories answers plain objects (no schema of its own). */
export interface Category {
  code: string
  name: string
  name_en?: string | null
  parent_code?: string | null
}
