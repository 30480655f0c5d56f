// Errors beside the fields they concern. The server's 422 (and a 409 that names a field)
// carries, for each fault, the field's path in the body (`password`, `points.0.lon`) and the
// words without the field's name; a form binds each of its items to its field's words
// (`<el-form-item :error="fieldError('password')">`) and names the field by its own label.
// A fault of a field the form does not show goes to a message naming it by its label.
import { reactive, watch } from 'vue'
import { ApiError } from './api'
import { errorText, showError } from './errors'
import { tr } from './i18n'

/** One fault of the server's answer (`error.details[]`). */
export interface FieldFault {
  field: string
  loc?: (string | number)[]
  type?: string
  message: string
}

function isFault(d: unknown): d is FieldFault {
  const f = d as FieldFault | null
  return !!f && typeof f.field === 'string' && typeof f.message === 'string'
}

/** The faults by field of a failure: none unless the server answered with them. */
export function faultsOf(e: unknown): FieldFault[] {
  if (!(e instanceof ApiError)) return []
  const details = e.details
  return Array.isArray(details) ? details.filter(isFault) : []
}

/** The form's field a fault's path belongs to: the field itself, else the nearest one
 *  holding it (`points.0.lon` → `points`, `unit_code.literal['']` → `unit_code`); null. */
export function fieldFor(path: string, fields: Iterable<string>): string | null {
  if (!path) return null
  const known = new Set(fields)
  const parts = path.split('.')
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join('.')
    if (known.has(candidate)) return candidate
  }
  return null
}

/** The words with the field's label before them, unless they name it already. */
export function labelled(label: string, message: string): string {
  return message.includes(label) ? message : tr('form.fieldError', { field: label, message })
}

export interface FieldErrorOptions {
  /** labels of fields the request may carry that the form does not show */
  others?: () => Record<string, string>
  /** the form's values: a field's words go once its value changes */
  values?: () => object
  /** the palette of the messages shown on <body> (see errors.showError) */
  customClass?: string
}

export interface TakeOptions {
  /** show what has no field of the form as a message (default); false: only return it */
  toast?: boolean
  /** the words for a failure that has none of its own */
  fallback?: string
}

/**
 * The errors of one form. `fields` gives the label of each field the form shows, by the
 * name the request body gives it. `take(e)` puts a failure's faults beside those fields
 * and returns (and by default shows) the words of the rest, '' when nothing is left.
 */
export function useFieldErrors(fields: () => Record<string, string>, options: FieldErrorOptions = {}) {
  const errors = reactive<Record<string, string>>({})

  function clear(name?: string): void {
    for (const k of name === undefined ? Object.keys(errors) : [name]) delete errors[k]
  }

  function set(name: string, message: string): void {
    errors[name] = errors[name] ? `${errors[name]}；${message}` : message
  }

  function fieldError(name: string): string {
    return errors[name] ?? ''
  }

  function take(e: unknown, how: TakeOptions = {}): string {
    clear()
    const shown = fields()
    const others = options.others?.() ?? {}
    const rest: string[] = []
    const faults = faultsOf(e)
    for (const f of faults) {
      const name = fieldFor(f.field, Object.keys(shown))
      if (name) {
        set(name, labelled(shown[name], f.message))
        continue
      }
      const other = fieldFor(f.field, Object.keys(others))
      rest.push(other ? labelled(others[other], f.message) : tr('form.invalid', { message: f.message }))
    }
    const words = faults.length ? [...new Set(rest)].join('；') : errorText(e, how.fallback)
    if (words && how.toast !== false) showError(words, { customClass: options.customClass })
    return words
  }

  if (options.values) {
    const values = options.values
    watch(
      () => ({ ...values() }) as Record<string, unknown>,
      (now, before) => {
        for (const k of Object.keys(now)) if (now[k] !== before[k]) clear(k)
      },
    )
  }

  return { errors, fieldError, set, clear, take }
}

export type FieldErrors = ReturnType<typeof useFieldErrors>
