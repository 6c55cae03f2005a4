import type { Component } from 'svelte'
import type { JsonObject, ValidationIssue } from '$lib/api/types'
import AlarmForm from './AlarmForm.svelte'
import ComputeMetricsForm from './ComputeMetricsForm.svelte'
import ConcatenateForm from './ConcatenateForm.svelte'
import EtlStepForm from './EtlStepForm.svelte'
import FileImportForm from './FileImportForm.svelte'
import PivotForm from './PivotForm.svelte'
import RunChecksForm from './RunChecksForm.svelte'
import SetVariablesForm from './SetVariablesForm.svelte'
import SqlToStorageForm from './SqlToStorageForm.svelte'
import SyncSourceForm from './SyncSourceForm.svelte'

export type KindFormProps = { config: JsonObject; issues: readonly ValidationIssue[] }

/** The hand-made forms of the data kinds; their keys are in FORM_FIELDS. */
export const DATA_KIND_FORMS: Record<string, Component<KindFormProps, object, 'config'>> = {
  SQL_TO_STORAGE: SqlToStorageForm,
  SYNC_SOURCE: SyncSourceForm,
  FILE_IMPORT: FileImportForm,
  ETL_STEP: EtlStepForm,
  PIVOT: PivotForm,
  CONCATENATE: ConcatenateForm,
  COMPUTE_METRICS: ComputeMetricsForm,
  RUN_CHECKS: RunChecksForm,
  ALARM: AlarmForm,
  SET_VARIABLES: SetVariablesForm,
}
