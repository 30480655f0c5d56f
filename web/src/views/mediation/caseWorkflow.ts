// The server's description of a mediation case's workflow (GET /api/workflows/case), as
// the matter pages have theirs (workflow.ts): the case pages name states and actions and
// draw every action's form from it alone.
import { describedWorkflow } from '../../workflow'

const described = describedWorkflow('case')
export const loadCaseWorkflow = described.load
export const caseWorkflow = described.current
export const caseStateLabel = described.stateLabel
export const isOpenCaseState = described.isOpenState
export const caseActionOf = described.actionOf
export const caseActionLabel = described.actionLabel

/** What a field's value stands for, from the first action whose form labels it. */
export function caseValueLabel(field: string, value: unknown): string {
  if (value === null || value === undefined || value === '') return '—'
  return described.valueLabel(field, value)
}
