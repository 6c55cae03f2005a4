// The editor itself, loaded only by pages that edit code (a chunk of its own): the runs
// page and the run button never carry it.
import {
  autocompletion,
  type CompletionContext,
  type CompletionSource,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
} from '@codemirror/autocomplete'
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands'
import { javascript } from '@codemirror/lang-javascript'
import { json } from '@codemirror/lang-json'
import { python } from '@codemirror/lang-python'
import { PostgreSQL, type SQLNamespace, schemaCompletionSource, sql } from '@codemirror/lang-sql'
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language'
import { Compartment, EditorState, type Extension } from '@codemirror/state'
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view'
import { SCRIPT_API } from './script-api'

export type EditorLanguage = 'sql' | 'javascript' | 'typescript' | 'python' | 'json'

/** Schemas, their tables and the tables' columns, for SQL completion (a datasource's catalog). */
export type SqlCatalog = SQLNamespace

export interface EditorOptions {
  parent: HTMLElement
  doc: string
  language: EditorLanguage
  /** SQL only: completes table and column names once it has loaded (see setCatalog). */
  catalog?: Promise<SqlCatalog>
  onChange(doc: string): void
  label: string
  /** A viewer's form: the code can be read and selected, not changed. */
  readOnly?: boolean
}

/** The script API (params, log, setOutput, …) offered wherever a word is being typed. */
const scriptApi: CompletionSource = (ctx: CompletionContext) => {
  const word = ctx.matchBefore(/[\w$]+/)
  if (!word || (word.from === word.to && !ctx.explicit)) return null
  return { from: word.from, options: SCRIPT_API.map((o) => ({ ...o })), validFor: /^[\w$]*$/ }
}

/** Where an editor's catalog completion sits, so another datasource's catalog replaces it in place. */
const catalogSlot = new Compartment()

/**
 * Table and column completion from a catalog still loading: the source waits for it, so a
 * completion asked for before the catalog arrived still offers its tables (and the editor
 * is never rebuilt, which would drop the focus and the open completion).
 */
function catalogCompletion(catalog: Promise<SqlCatalog> | undefined): Extension {
  if (!catalog) return []
  const source = catalog.then(
    (schema) => schemaCompletionSource({ dialect: PostgreSQL, schema, defaultSchema: 'public' }),
    () => null, // no catalog: keywords still complete
  )
  const autocomplete: CompletionSource = async (ctx) => (await source)?.(ctx) ?? null
  return PostgreSQL.language.data.of({ autocomplete })
}

/** Completes from another catalog (the form picked another datasource). */
export function setCatalog(view: EditorView, catalog: Promise<SqlCatalog> | undefined): void {
  view.dispatch({ effects: catalogSlot.reconfigure(catalogCompletion(catalog)) })
}

function languageSupport(language: EditorLanguage, catalog: Promise<SqlCatalog> | undefined): Extension {
  switch (language) {
    case 'sql':
      return [
        sql({ dialect: PostgreSQL, upperCaseKeywords: false }),
        catalogSlot.of(catalogCompletion(catalog)),
      ]
    case 'json':
      return json()
    case 'python':
      return [python(), EditorState.languageData.of(() => [{ autocomplete: scriptApi }])]
    case 'typescript':
    case 'javascript':
      return [
        javascript({ typescript: language === 'typescript' }),
        EditorState.languageData.of(() => [{ autocomplete: scriptApi }]),
      ]
  }
}

/** An editor with line numbers, highlighting, bracket matching and completion. */
export function createEditor(opts: EditorOptions): EditorView {
  return new EditorView({
    parent: opts.parent,
    state: EditorState.create({
      doc: opts.doc,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([
          indentWithTab,
          ...closeBracketsKeymap,
          ...defaultKeymap,
          ...historyKeymap,
          ...completionKeymap,
        ]),
        languageSupport(opts.language, opts.catalog),
        EditorView.contentAttributes.of({ 'aria-label': opts.label }),
        EditorState.readOnly.of(opts.readOnly ?? false),
        EditorView.editable.of(!opts.readOnly),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) opts.onChange(u.state.doc.toString())
        }),
      ],
    }),
  })
}
