// Shapes and shared look-ups of the administration tabs (regions, categories, units).
import { computed, ref } from 'vue'
import { ElMessage, ElMessageBox } from 'element-plus'
import { api } from '../../api'
import { categoryLabel } from '../../format'
import type { Category } from '../../types'

export interface Region {
  code: string
  name: string
  level: number
  level_name: string
  parent_code: string | null
  path: string
  has_geometry: boolean
  geometry?: GeoJSON.Geometry | null
}

export interface UnitRow {
  id: number
  code: string
  name: string
  kind: string
  region_path: string
  categories: string[]
  phone: string | null
  is_active: boolean
}

export interface RuleRow {
  id: number
  category_code: string
  urgency: string | null
  region_path: string | null
  unit_id: number
  unit_name: string
  level: number
  is_active: boolean
}

export interface PolicyRow {
  id: number
  category_code: string | null
  urgency: string
  basis: 'working' | 'natural'
  sign: number | null
  onsite: number | null
  reply: number | null
  resolve: number | null
  ladder_hours: number
}

export interface SpecialDay {
  day: string
  kind: 'holiday' | 'workday'
  name: string
  source?: string
}

export interface YearStatus {
  year: number
  covered: boolean
  source: string | null
  holidays: number
  workdays: number
}

export interface UserRow {
  id: number
  username: string
  display_name: string
  phone: string | null
  id_number: string | null
  roles: string[]
  jurisdiction_path: string | null
  unit: { id: number; code: string; name: string } | null
  is_active: boolean
  masked: boolean
}

export const URGENCIES = ['normal', 'urgent', 'critical'] as const
export const UNIT_KINDS = ['department', 'station', 'platform', 'centre'] as const
export const GRID_KINDS = ['base', 'enterprise', 'sea'] as const
// Where a matter is handled: 1 grid, 2 community, 3 township, 4 county, 5 city, 6 province.
export const LEVELS = [1, 2, 3, 4, 5, 6] as const
export const ROLES = [
  'admin',
  'leader',
  'dispatcher',
  'unit_handler',
  'grid_head',
  'grid_instructor',
  'grid_worker_fulltime',
  'grid_worker_parttime',
  'volunteer',
  'mediator',
  'maritime_officer',
  'resident',
] as const

// ---------------------------------------------------------------- cached look-ups

export const regions = ref<Region[]>([])
export const categories = ref<Category[]>([])
export const units = ref<UnitRow[]>([])
export const gridNames = ref<Map<string, string>>(new Map())

let regionsLoading: Promise<Region[]> | null = null
let categoriesLoading: Promise<Category[]> | null = null
let unitsLoading: Promise<UnitRow[]> | null = null
let gridsLoading: Promise<void> | null = null

/** Every region of the caller's jurisdiction (for pickers and for naming paths). */
export function loadRegions(force = false): Promise<Region[]> {
  if (force || !regionsLoading) {
    regionsLoading = api.get<Region[]>('/api/regions', { limit: 2000 }).then((rows) => {
      regions.value = rows
      return rows
    })
    regionsLoading.catch(() => (regionsLoading = null))
  }
  return regionsLoading
}

export function loadCategories(force = false): Promise<Category[]> {
  if (force || !categoriesLoading) {
    categoriesLoading = api.get<Category[]>('/api/categories').then((rows) => {
      categories.value = rows
      return rows
    })
    categoriesLoading.catch(() => (categoriesLoading = null))
  }
  return categoriesLoading
}

export function loadUnits(force = false): Promise<UnitRow[]> {
  if (force || !unitsLoading) {
    unitsLoading = api.get<UnitRow[]>('/api/units', { limit: 2000 }).then((rows) => {
      units.value = rows
      return rows
    })
    unitsLoading.catch(() => (unitsLoading = null))
  }
  return unitsLoading
}

/** Names of the grids (a grid worker's jurisdiction ends in a grid code). */
export function loadGridNames(force = false): Promise<void> {
  if (force || !gridsLoading) {
    gridsLoading = api
      .get<{ code: string; name: string }[]>('/api/grids', { limit: 5000 })
      .then((rows) => {
        gridNames.value = new Map(rows.map((g) => [g.code, g.name]))
      })
    gridsLoading.catch(() => (gridsLoading = null))
  }
  return gridsLoading
}

const regionByCode = computed(() => new Map(regions.value.map((r) => [r.code, r])))
const categoryByCode = computed(() => new Map(categories.value.map((c) => [c.code, c])))

/** The last code of a path such as `330305/330305001/`. */
export function lastCode(path: string | null | undefined): string {
  if (!path) return ''
  const parts = path.split('/').filter(Boolean)
  return parts[parts.length - 1] ?? ''
}

/** "北岙街道 (330305001)" for a region (or grid) code or path; the bare code when unknown. */
export function regionLabel(codeOrPath: string | null | undefined): string {
  const code = codeOrPath?.includes('/') ? lastCode(codeOrPath) : (codeOrPath ?? '')
  if (!code) return ''
  const name = regionByCode.value.get(code)?.name ?? gridNames.value.get(code)
  return name ? `${name} (${code})` : code
}

export function categoryName(code: string | null | undefined): string {
  if (!code) return ''
  const c = categoryByCode.value.get(code)
  return c ? categoryLabel(c) : code
}

/** Options for a region picker, indented by level so the tree shows through. */
export const regionOptions = computed(() =>
  regions.value.map((r) => ({
    value: r.code,
    label: `${r.name} (${r.code})`,
    indent: Math.max(0, r.path.split('/').filter(Boolean).length - 1),
  })),
)

/** Categories with children listed under their parent. */
export const categoryOptions = computed(() => {
  const top = categories.value.filter((c) => !c.parent_code)
  const out: { value: string; label: string; child: boolean }[] = []
  for (const c of top) {
    out.push({ value: c.code, label: categoryLabel(c), child: false })
    for (const k of categories.value.filter((x) => x.parent_code === c.code)) {
      out.push({ value: k.code, label: categoryLabel(k), child: true })
    }
  }
  const seen = new Set(out.map((o) => o.value))
  for (const c of categories.value) {
    if (!seen.has(c.code)) out.push({ value: c.code, label: categoryLabel(c), child: !!c.parent_code })
  }
  return out
})

/** A number for display: 1.0 → "1", 0.5 → "0.5". */
export function num(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—'
  return String(Math.round(value * 100) / 100)
}

// ---------------------------------------------------------------- messages and confirmations

/** Messages and message boxes are placed on <body>, outside the page: they carry the class
 *  that gives them the page's darker (readable) palette. */
export const THEME = 'admin-theme'

export function toast(type: 'success' | 'warning' | 'error', message: string): void {
  ElMessage({ type, message, customClass: THEME, showClose: type === 'error', duration: type === 'error' ? 6000 : 3000 })
}

export function confirmBox(text: string, title: string, ok: string, cancel: string): Promise<boolean> {
  return ElMessageBox.confirm(text, title, {
    type: 'warning',
    confirmButtonText: ok,
    cancelButtonText: cancel,
    customClass: THEME,
  }).then(
    () => true,
    () => false,
  )
}
