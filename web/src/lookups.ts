// Lists the pages share, each fetched once and kept: the matter categories, and the active
// units the caller may see (for choosing a unit in an action's form).
import { computed, ref } from 'vue'
import { api } from './api'
import { categoryLabel } from './format'
import type { Category, Unit } from './types'

export const categories = ref<Category[]>([])
let categoriesLoading: Promise<Category[]> | null = null

/** The categories, fetched on the first call; a failed fetch is tried again on the next. */
export function loadCategories(): Promise<Category[]> {
  if (!categoriesLoading) {
    categoriesLoading = api.get<Category[]>('/api/categories').then((rows) => {
      categories.value = rows
      return rows
    })
    categoriesLoading.catch(() => (categoriesLoading = null))
  }
  return categoriesLoading
}

const categoryByCode = computed(() => new Map(categories.value.map((c) => [c.code, c])))

/** A category's name in the console's language; the code when it is not (yet) known. */
export function categoryName(code: string | null | undefined): string {
  if (!code) return ''
  const c = categoryByCode.value.get(code)
  return c ? categoryLabel(c) : code
}

/** The categories for a picker: each parent followed by its children. */
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

export const activeUnits = ref<Unit[]>([])
let unitsLoading: Promise<Unit[]> | null = null

/** The active units the caller may see (GET /api/units), fetched on the first call. */
export function loadActiveUnits(): Promise<Unit[]> {
  if (!unitsLoading) {
    unitsLoading = api.get<Unit[]>('/api/units', { limit: 2000 }).then((rows) => {
      activeUnits.value = rows.filter((u) => u.is_active)
      return activeUnits.value
    })
    unitsLoading.catch(() => (unitsLoading = null))
  }
  return unitsLoading
}
