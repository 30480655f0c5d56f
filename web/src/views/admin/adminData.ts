// Shapes and shared look-ups of the administration tabs (regions, categories, units).
import { computed, ref } from 'vue'
import { ElMessage, ElMessageBox } from 'element-plus'
import { api } from '../../api'
import type { components } from '../../api-types'
import { showError } from '../../errors'
import { categories, categoryName, categoryOptions, loadCategories } from '../../lookups'

// The categories are the console's one store; the tabs name and pick them from it.
export { categories, categoryName, categoryOptions, loadCategories }

type Schemas = components['schemas']

export type Region = Omit<Schemas['RegionOut'], 'geometry'> & { geometry?: GeoJSON.Geometry | null }
export type UnitRow = Schemas['UnitOut']
export type RuleRow = Schemas['RuleOut']
export type PolicyRow = Schemas['PolicyOut']
/** A day as read (with where it came from) or as edited here (no source yet). */
export type SpecialDay = Schemas['SpecialDayIn'] & Partial<Pick<Schemas['SpecialDayOut'], 'source'>>
export type YearStatus = Schemas['YearStatus']
export type UserRow = Schemas['UserOut']

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
export const units = ref<UnitRow[]>([])
export const gridNames = ref<Map<string, string>>(new Map())

let regionsLoading: Promise<Region[]> | null = null
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

/** Options for a region picker, indented by level so the tree shows through. */
export const regionOptions = computed(() =>
  regions.value.map((r) => ({
    value: r.code,
    label: `${r.name} (${r.code})`,
    indent: Math.max(0, r.path.split('/').filter(Boolean).length - 1),
  })),
)

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

/** A failure as an error message in the tabs' palette. */
export function fail(e: unknown): void {
  showError(e, { customClass: THEME })
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
