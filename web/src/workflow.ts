// The server's description of the matter workflow (GET /api/workflows/matter): its states and
// actions with their names in the caller's language, and for each action the JSON schema of
// its form. The console names states and actions and draws action forms from it alone.
// Loaded once per language (again when the language switches); the last copy is kept on the
// device so that a phone out of coverage still names what it shows.
import { computed, ref, watch } from 'vue'
import { api, language } from './api'
import type { components } from './api-types'

export type Widget = 'text' | 'textarea' | 'select' | 'datetime' | 'number' | 'unit' | 'matter' | 'category'

/** One field of an action's form (a JSON schema property, inlined). */
export interface FieldSchema {
  type?: string | string[]
  title?: string
  description?: string
  maxLength?: number
  minLength?: number
  minimum?: number
  maximum?: number
  enum?: (string | number)[]
  format?: string
  default?: unknown
  'x-widget'?: Widget
  'x-labels'?: Record<string, string>
}

export interface ActionSchema {
  type?: string
  additionalProperties?: boolean
  required?: string[]
  properties?: Record<string, FieldSchema>
}

type Schemas = components['schemas']

export type WorkflowState = Schemas['StateOut']
/** An action of the description, its form (`schema`) typed as the JSON Schema it is. */
export type WorkflowAction = Omit<Schemas['ActionOut'], 'schema'> & { schema: ActionSchema }
export type Workflow = Omit<Schemas['WorkflowOut'], 'actions'> & { actions: WorkflowAction[] }

type Lang = 'zh' | 'en'

/** One workflow's description (GET /api/workflows/{name}) and what the pages ask of it. */
export function describedWorkflow(name: string) {
  const described = ref<Partial<Record<Lang, Workflow>>>({})
  const pending = new Map<Lang, Promise<Workflow | null>>()
  let wanted = false
  const storageKey = (lang: Lang) => `fengqiao.workflow.${name}.${lang}`

  function kept(lang: Lang): Workflow | null {
    try {
      const w = JSON.parse(localStorage.getItem(storageKey(lang)) ?? 'null') as Workflow | null
      return w && Array.isArray(w.states) && Array.isArray(w.actions) ? w : null
    } catch {
      return null
    }
  }

  /** The description in the console's language: fetched once, then the same promise. With
   *  no answer it is the copy kept from last time (or null, and a later call asks again). */
  function load(): Promise<Workflow | null> {
    wanted = true
    const lang = language.value
    const have = described.value[lang]
    if (have) return Promise.resolve(have)
    let loading = pending.get(lang)
    if (!loading) {
      // The request carries Accept-Language: the language it is made in.
      loading = api
        .get<Workflow>(`/api/workflows/${name}`)
        .then((w) => {
          described.value = { ...described.value, [lang]: w }
          try {
            localStorage.setItem(storageKey(lang), JSON.stringify(w))
          } catch {
            /* storage full: it is kept in memory all the same */
          }
          return w
        })
        .catch(() => kept(lang))
        .finally(() => pending.delete(lang))
      pending.set(lang, loading)
    }
    return loading
  }

  watch(language, () => {
    if (wanted) void load()
  })

  /** The description to show now: this language's, else (while it loads) another's or the
   *  kept copy. */
  const current = computed<Workflow | null>(() => {
    const lang = language.value
    return described.value[lang] ?? kept(lang) ?? Object.values(described.value)[0] ?? null
  })
  const stateByName = computed(() => new Map((current.value?.states ?? []).map((s) => [s.name, s])))
  const actionByName = computed(() => new Map((current.value?.actions ?? []).map((a) => [a.name, a])))

  return {
    load,
    current,
    /** A state's name for people; its code until the description is there. */
    stateLabel: (state: string | null | undefined): string =>
      state ? (stateByName.value.get(state)?.label ?? state) : '—',
    isOpenState: (state: string): boolean => stateByName.value.get(state)?.open ?? false,
    actionOf: (action: string): WorkflowAction | undefined => actionByName.value.get(action),
    /** An action's name for people (the sweep's and the system's actions too). */
    actionLabel: (action: string): string => actionByName.value.get(action)?.label ?? action,
    /** What a field's value stands for, from the first action whose form labels it (a
     *  rating, a supervision card…); the value itself when none does. */
    valueLabel(field: string, value: unknown): string {
      const key = String(value)
      for (const a of current.value?.actions ?? []) {
        const label = a.schema.properties?.[field]?.['x-labels']?.[key]
        if (label) return label
      }
      return key
    },
    /** A field's title, from the first action whose form has it. */
    fieldTitle(field: string): string | null {
      for (const a of current.value?.actions ?? []) {
        const title = a.schema.properties?.[field]?.title
        if (title) return title
      }
      return null
    },
  }
}

const matter = describedWorkflow('matter')
export const loadWorkflow = matter.load
export const workflow = matter.current
export const states = computed(() => workflow.value?.states ?? [])
export const stateLabel = matter.stateLabel
export const isOpenState = matter.isOpenState
export const actionOf = matter.actionOf
export const actionLabel = matter.actionLabel
export const valueLabel = matter.valueLabel
export const fieldTitle = matter.fieldTitle

/** The open states, for asking the server for open matters. */
export async function openStates(): Promise<string[]> {
  const w = (await loadWorkflow()) ?? workflow.value
  return (w?.states ?? []).filter((s) => s.open).map((s) => s.name)
}
