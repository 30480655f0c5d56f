// Chinese by default, English by switch. Each area keeps its messages in locales/<area>.ts.
import { createI18n } from 'vue-i18n'
import { language } from './api'
import common from './locales/common'
import dispatch from './locales/dispatch'
import worker from './locales/worker'
import insight from './locales/insight'
import admin from './locales/admin'
import mediation from './locales/mediation'

type Tree = { [key: string]: string | Tree }
type Area = { zh: Tree; en: Tree }
const areas: Area[] = [common, dispatch, worker, insight, admin, mediation]

export const i18n = createI18n({
  legacy: false,
  locale: language.value,
  fallbackLocale: 'zh',
  messages: {
    zh: Object.assign({}, ...areas.map((a) => a.zh)),
    en: Object.assign({}, ...areas.map((a) => a.en)),
  },
})

export function setLanguage(lang: 'zh' | 'en'): void {
  language.value = lang
  i18n.global.locale.value = lang
  localStorage.setItem('fengqiao.lang', lang)
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en'
}

/** A message outside a component (in the console's language now). */
export function tr(key: string, named: Record<string, unknown> = {}): string {
  // Typed plainly: vue-i18n's own types of `t` for any string key are too deep to check.
  const global = i18n.global as unknown as { t: (key: string, named: Record<string, unknown>) => string }
  return global.t(key, named)
}
