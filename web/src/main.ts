import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import 'leaflet/dist/leaflet.css'
import './style.css'
import App from './App.vue'
import { i18n, setLanguage } from './i18n'
import { language } from './api'
import { router } from './router'
import { startOfflineSync } from './offline'

setLanguage(language.value)
createApp(App).use(ElementPlus).use(i18n).use(router).mount('#app')
startOfflineSync()
