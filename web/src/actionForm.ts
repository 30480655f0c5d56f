// An action's form, read from its JSON schema (see workflow.ts): which fields, drawn how,
// which are required, what they start with, what the client checks (required and maxLength,
// nothing more: the server checks the rest and says so), and the body sent.
import { ApiError } from './api'
import { tr } from './i18n'
import { findMatter } from './matters'
import type { FieldSchema, Widget as MatterWidget, WorkflowAction } from './workflow'

export type Value = string | number | Date | null

/** The widgets of a mediation case's forms (GET /api/workflows/case), beside the matter's. */
export type CaseWidget =
  | 'mediator'
  | 'mediators'
  | 'party'
  | 'parties'
  | 'terms'
  | 'term_states'
  | 'checkbox'
  | 'date'
  | 'committee'
  | 'scan'
export type Widget = MatterWidget | CaseWidget

/** One term of an agreement as its form holds it (the `terms` widget). */
export interface TermValue {
  content: string
  obligor_id: number | null
  manner: string
  place: string
  due_on: string | null
}

/** A term's new state (the `term_states` widget): only the terms whose state is changed. */
export interface TermStateValue {
  term_id: number
  state: string
}

/** What a field of any form holds: the matter's values, and the case widgets' lists and ticks. */
export type FormValue = Value | boolean | number[] | TermValue[] | TermStateValue[]

/** A field's schema with what the case widgets read: the items of a list, a constant. */
export interface ListSchema extends FieldSchema {
  const?: unknown
  minItems?: number
  maxItems?: number
  items?: { type?: string; required?: string[]; properties?: Record<string, FieldSchema> }
}

export interface Field {
  name: string
  schema: FieldSchema
  widget: Widget
  required: boolean
  title: string
  /** the choices of a select: value and label */
  options: { value: string | number; label: string }[]
}

function types(s: FieldSchema): string[] {
  return Array.isArray(s.type) ? s.type : s.type ? [s.type] : []
}

/** The widget the schema asks for, or the one its type suggests. */
export function widgetOf(s: FieldSchema): Widget {
  if (s['x-widget']) return s['x-widget'] as Widget
  if (s.enum) return 'select'
  if (s.format === 'date-time') return 'datetime'
  if (types(s).some((t) => t === 'integer' || t === 'number')) return 'number'
  return s.maxLength !== undefined && s.maxLength <= 200 ? 'text' : 'textarea'
}

export function fieldsOf(action: WorkflowAction | undefined): Field[] {
  const schema = action?.schema
  const required = new Set(schema?.required ?? [])
  return Object.entries(schema?.properties ?? {}).map(([name, s]) => ({
    name,
    schema: s,
    widget: widgetOf(s),
    required: required.has(name),
    title: s.title ?? name,
    options: (s.enum ?? []).map((v) => ({ value: v, label: s['x-labels']?.[String(v)] ?? String(v) })),
  }))
}

/** What each field starts with: the schema's default, else what `preset` gives its widget. */
export function startValues(fields: Field[], preset: Partial<Record<Widget, string>> = {}): Record<string, Value> {
  const values: Record<string, Value> = {}
  for (const f of fields) {
    const d = f.schema.default
    if (typeof d === 'string' && f.widget === 'datetime') values[f.name] = new Date(d)
    else if (typeof d === 'string' || typeof d === 'number') values[f.name] = d
    else values[f.name] = preset[f.widget] ?? (f.widget === 'number' || f.widget === 'datetime' ? null : '')
  }
  return values
}

/** startValues for a form that may hold the case widgets: their lists, ticks and ids. */
export function formStartValues(fields: Field[], preset: Partial<Record<Widget, string>> = {}): Record<string, FormValue> {
  const values: Record<string, FormValue> = startValues(fields, preset)
  for (const f of fields) if (CASE_WIDGETS.includes(f.widget)) values[f.name] = caseStart(f)
  return values
}

const CASE_WIDGETS: Widget[] = ['mediator', 'mediators', 'party', 'parties', 'terms', 'term_states', 'checkbox', 'date', 'committee', 'scan']
const LISTS: Widget[] = ['mediators', 'parties', 'terms', 'term_states']

/** An empty term of an agreement. */
export function emptyTerm(): TermValue {
  return { content: '', obligor_id: null, manner: '', place: '', due_on: null }
}

function caseStart(f: Field): FormValue {
  const d = f.schema.default
  switch (f.widget) {
    case 'checkbox':
      return typeof d === 'boolean' ? d : false
    case 'terms':
      return ((f.schema as ListSchema).minItems ?? 0) > 0 ? [emptyTerm()] : []
    case 'mediators':
    case 'parties':
    case 'term_states':
      return []
    case 'committee':
    case 'date':
      return typeof d === 'string' ? d : ''
    default: // mediator, party, scan: an id
      return typeof d === 'number' ? d : null
  }
}

function empty(v: FormValue | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'string' && !v.trim()) || (Array.isArray(v) && !v.length)
}

const CHOSEN: Widget[] = ['select', 'unit', 'category', 'datetime', 'mediator', 'mediators', 'party', 'parties', 'committee', 'date', 'scan']

/** The case widgets' own checks: a tick the schema insists on, each term's required parts. */
function caseCheck(f: Field, v: FormValue | undefined): string | null {
  const s = f.schema as ListSchema
  if (f.widget === 'checkbox') return f.required && s.const === true && v !== true ? t('mediation.form.mustTick', { field: f.title }) : null
  if (f.widget !== 'terms' || !Array.isArray(v)) return null
  const need = s.items?.required ?? []
  const props = s.items?.properties ?? {}
  const terms = v as TermValue[]
  for (let i = 0; i < terms.length; i++) {
    const term = terms[i] as unknown as Record<string, unknown>
    for (const key of need) {
      const part = term[key]
      if (part === null || part === undefined || (typeof part === 'string' && !part.trim())) {
        return t('mediation.form.termMissing', { n: i + 1, part: props[key]?.title ?? key })
      }
    }
    for (const [key, p] of Object.entries(props)) {
      const part = term[key]
      if (typeof part === 'string' && p.maxLength !== undefined && [...part.trim()].length > p.maxLength) {
        return t('mediation.form.termTooLong', { n: i + 1, part: p.title ?? key, max: p.maxLength })
      }
    }
  }
  return null
}

const t = tr

/** The client's own checks, as messages by field: required fields given, texts not too long. */
export function check(fields: Field[], values: Record<string, FormValue>): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const f of fields) {
    const v = values[f.name]
    const own = CASE_WIDGETS.includes(f.widget) ? caseCheck(f, v) : null
    if (own) {
      errors[f.name] = own
      continue
    }
    if (empty(v)) {
      if (f.required)
        errors[f.name] = t(CHOSEN.includes(f.widget) ? 'form.choose' : 'form.required', { field: f.title })
      continue
    }
    const max = f.schema.maxLength
    if (typeof v === 'string' && max !== undefined && [...v.trim()].length > max) {
      errors[f.name] = t('form.tooLong', { field: f.title, n: max })
    }
  }
  return errors
}

/** A moment as ISO 8601 with this device's zone offset, e.g. 2026-05-01T17:30:00+08:00. */
export function isoWithOffset(d: Date): string {
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0')
  const offset = -d.getTimezoneOffset()
  const zone = `${offset >= 0 ? '+' : '-'}${pad(offset / 60)}:${pad(offset % 60)}`
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  )
}

/** The request body: each given field in the form its schema wants; empty ones left out. */
export async function bodyOf(fields: Field[], values: Record<string, FormValue>): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {}
  for (const f of fields) {
    const v = values[f.name]
    if (f.widget === 'checkbox') {
      if (typeof v === 'boolean') body[f.name] = v
      continue
    }
    if (empty(v)) continue
    if (f.widget === 'terms') body[f.name] = (v as TermValue[]).map(termBody)
    else if (LISTS.includes(f.widget)) body[f.name] = v
    else if (f.widget === 'mediator' || f.widget === 'party' || f.widget === 'scan') body[f.name] = Number(v)
    else if (v instanceof Date) body[f.name] = isoWithOffset(v)
    else if (f.widget === 'matter') {
      const found = await findMatter(String(v))
      if (!found) throw new ApiError(404, 'not_found', t('form.noSuchMatter', { field: f.title }))
      body[f.name] = found.id
    } else if (f.widget === 'number') body[f.name] = Number(v)
    else body[f.name] = typeof v === 'string' ? v.trim() : v
  }
  return body
}

/** A term as the server takes it: its given parts, trimmed; the empty ones left out. */
function termBody(term: TermValue): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(term)) {
    if (value === null || value === undefined) continue
    if (typeof value === 'string') {
      if (value.trim()) out[key] = value.trim()
    } else out[key] = value
  }
  return out
}
