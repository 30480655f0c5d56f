import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { homeFor, loadMe, me } from './session'

// meta.roles: who may open the page (any signed-in user when absent).
const DISPATCH = ['dispatcher', 'leader', 'admin']
const GRID = ['grid_head', 'grid_instructor', 'grid_worker_fulltime', 'grid_worker_parttime']
const MEDIATOR = ['mediator']

const routes: RouteRecordRaw[] = [
  { path: '/login', component: () => import('./views/LoginView.vue'), meta: { public: true } },
  {
    path: '/',
    component: () => import('./views/AppLayout.vue'),
    children: [
      { path: '', redirect: () => homeFor(me.value) },
      { path: 'inbox', component: () => import('./views/InboxView.vue'), meta: { roles: DISPATCH } },
      { path: 'matters/:id', component: () => import('./views/MatterDetailView.vue'), props: true },
      { path: 'tasks', component: () => import('./views/TasksView.vue'), meta: { roles: ['unit_handler'] } },
      { path: 'map', component: () => import('./views/MapView.vue'), meta: { roles: [...DISPATCH, ...GRID] } },
      { path: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { roles: DISPATCH } },
      { path: 'admin', component: () => import('./views/admin/AdminView.vue'), meta: { roles: ['admin'] } },
      // People's mediation: the mediator's workbench, the committee head's desk, a case, the figures.
      { path: 'mediation', component: () => import('./views/mediation/MediationWorkbench.vue'), meta: { roles: MEDIATOR } },
      { path: 'mediation/assign', component: () => import('./views/mediation/MediationAssign.vue'), meta: { roles: MEDIATOR } },
      { path: 'mediation/figures', component: () => import('./views/mediation/MediationFigures.vue'), meta: { roles: DISPATCH } },
      { path: 'mediation/cases/:number', component: () => import('./views/mediation/MediationCaseView.vue'), props: true },
    ],
  },
  {
    path: '/m',
    component: () => import('./views/mobile/MobileLayout.vue'),
    children: [
      { path: '', component: () => import('./views/mobile/WorkerHome.vue'), meta: { roles: GRID } },
      { path: 'report', component: () => import('./views/mobile/WorkerReport.vue') },
      { path: 'matters/:id', component: () => import('./views/mobile/WorkerMatter.vue'), props: true },
      // A party's mediation cases on the phone: the list, applying, one case.
      { path: 'mediation', component: () => import('./views/mediation/MediationMine.vue') },
      { path: 'mediation/apply', component: () => import('./views/mediation/MediationApply.vue') },
      { path: 'mediation/:number', component: () => import('./views/mediation/MediationCasePhone.vue'), props: true },
    ],
  },
  // Anyone holding a copy of a mediation agreement checks it here, signed in or not.
  { path: '/verify', component: () => import('./views/mediation/MediationVerify.vue'), meta: { public: true } },
  // A matter's work-order sheet for printing: outside the layout, no navigation on paper.
  { path: '/matters/:id/print', component: () => import('./views/PrintView.vue'), props: true },
  { path: '/:pathMatch(.*)*', redirect: '/' },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  if (to.meta.public) return true
  const user = me.value ?? (await loadMe())
  if (!user) return { path: '/login', query: { next: to.fullPath } }
  const roles = to.meta.roles as string[] | undefined
  if (roles && !user.roles.some((r) => roles.includes(r))) return homeFor(user)
  return true
})
