// An action's form, read from its JSON schema (see workflow.ts): which fields, drawn how,
// which are required, what they start with, what the client checks (required and maxLength,
// nothing more: the server checks the rest and says so), and the body sent.
import { ApiError } from './api'
import { tr } from './i18n'
import { findMatter } from './matters'
import type { FieldSchema, Widget, WorkflowAction } from './workflow'

export type Value = string | number | Date | null

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
  if (s['x-widget']) return s['x-widget']
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

function empty(v: Value | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'string' && !v.trim())
}

const CHOSEN: Widget[] = ['select', 'unit', 'category', 'datetime']

const t = tr

/** The client's own checks, as messages by field: required fields given, texts not too long. */
export function check(fields: Field[], values: Record<string, Value>): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const f of fields) {
    const v = values[f.name]
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
export async function bodyOf(fields: Field[], values: Record<string, Value>): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {}
  for (const f of fields) {
    const v = values[f.name]
    if (empty(v)) continue
    if (v instanceof Date) body[f.name] = isoWithOffset(v)
    else if (f.widget === 'matter') {
      const found = await findMatter(String(v))
      if (!found) throw new ApiError(404, 'not_found', t('form.noSuchMatter', { field: f.title }))
      body[f.name] = found.id
    } else if (f.widget === 'number') body[f.name] = Number(v)
    else body[f.name] = typeof v === 'string' ? v.trim() : v
  }
  return body
}
