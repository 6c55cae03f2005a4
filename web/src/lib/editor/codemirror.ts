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
import { PostgreSQL, sql } from '@codemirror/lang-sql'
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language'
import { EditorState, type Extension } from '@codemirror/state'
import { drawSelection, EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view'
import { SCRIPT_API } from './script-api'

export type EditorLanguage = 'sql' | 'javascript' | 'typescript' | 'python' | 'json'

/** Tables and their columns, for SQL completion (the warehouse catalog). */
export type SqlCatalog = Record<string, readonly string[]>

export interface EditorOptions {
  parent: HTMLElement
  doc: string
  language: EditorLanguage
  /** SQL only: completes table and column names. */
  catalog?: SqlCatalog
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

function languageSupport(language: EditorLanguage, catalog: SqlCatalog | undefined): Extension {
  switch (language) {
    case 'sql':
      return sql({ dialect: PostgreSQL, schema: { ...(catalog ?? {}) }, upperCaseKeywords: false })
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
