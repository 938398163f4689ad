// Rich text props (`contentMediaType: text/html`): a small Tiptap editor
// with bold, italic, lists, a heading, a link and undo, writing HTML the API
// sanitises on save. Tiptap's own stylesheet is not injected (the admin's
// CSP admits no inline styles); styles.css carries what ProseMirror needs.
import { useEffect, useRef, useState } from 'react';
import type { WidgetProps } from '@rjsf/utils';
import { EditorContent, useEditor, useEditorState, type Editor } from '@tiptap/react';
import StarterKit from '@tiptap/starter-kit';
import { useT } from '../i18n';

export function RichTextWidget(props: WidgetProps) {
  const { t } = useT();
  const editable = !props.readonly && !props.disabled;
  // The HTML this editor last reported, to tell our own changes coming back
  // through rjsf from a value set from outside.
  const reported = useRef<string | undefined>(typeof props.value === 'string' ? props.value : undefined);
  const editor = useEditor({
    extensions: [StarterKit.configure({ heading: { levels: [2, 3] }, link: { openOnClick: false } })],
    content: typeof props.value === 'string' ? props.value : '',
    editable,
    injectCSS: false,
    editorProps: {
      attributes: {
        id: props.id,
        role: 'textbox',
        'aria-multiline': 'true',
        'aria-label': props.label || t('richtext.label'),
        class: 'rich-text-area',
      },
    },
    // An empty document is an empty prop, not `<p></p>`.
    onUpdate: ({ editor: changed }) => {
      // Empty paragraphs left at the end (after a list, say) are noise.
      reported.current = changed.isEmpty ? undefined : changed.getHTML().replace(/(<p><\/p>)+$/, '');
      props.onChange(reported.current);
    },
  });

  useEffect(() => {
    if (editor && !editor.isDestroyed) editor.setEditable(editable);
  }, [editor, editable]);

  // A value set from outside (the merge view's result) replaces the text.
  useEffect(() => {
    const next = typeof props.value === 'string' ? props.value : undefined;
    if (!editor || editor.isDestroyed || next === reported.current) return;
    reported.current = next;
    editor.commands.setContent(next ?? '', { emitUpdate: false });
  }, [editor, props.value]);

  if (!editor) return null;
  return (
    <div className="rich-text">
      {editable ? <Toolbar editor={editor} /> : null}
      <EditorContent editor={editor} />
    </div>
  );
}

function Toolbar({ editor }: { editor: Editor }) {
  const { t } = useT();
  const [linking, setLinking] = useState(false);
  const [href, setHref] = useState('');
  const state = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      bold: e.isActive('bold'),
      italic: e.isActive('italic'),
      bullets: e.isActive('bulletList'),
      numbers: e.isActive('orderedList'),
      heading: e.isActive('heading', { level: 2 }),
      link: e.isActive('link'),
    }),
  });
  const chain = () => editor.chain().focus();
  const button = (label: string, pressed: boolean, run: () => void, text: string) => (
    <button
      type="button"
      className="secondary"
      aria-pressed={pressed}
      aria-label={label}
      title={label}
      // A mouse click keeps the focus and selection in the text (keyboard
      // users get the focus back through the command's focus()).
      onMouseDown={(event) => event.preventDefault()}
      onClick={run}
    >
      {text}
    </button>
  );
  return (
    <div className="rich-text-toolbar" role="toolbar" aria-label={t('richtext.toolbar')}>
      {button(t('richtext.bold'), state.bold, () => chain().toggleBold().run(), 'B')}
      {button(t('richtext.italic'), state.italic, () => chain().toggleItalic().run(), 'I')}
      {button(t('richtext.heading'), state.heading, () => chain().toggleHeading({ level: 2 }).run(), 'H2')}
      {button(t('richtext.bullets'), state.bullets, () => chain().toggleBulletList().run(), '•')}
      {button(t('richtext.numbers'), state.numbers, () => chain().toggleOrderedList().run(), '1.')}
      {button(t('richtext.link'), state.link || linking, () => {
        if (state.link) chain().unsetLink().run();
        else setLinking(true);
      }, '🔗')}
      {button(t('richtext.undo'), false, () => chain().undo().run(), '↶')}
      {linking ? (
        <span className="rich-text-link">
          <label className="inline">
            {t('richtext.href')}
            <input
              type="url"
              value={href}
              placeholder="https://"
              onChange={(event) => setHref(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === 'Enter') event.preventDefault();
              }}
            />
          </label>
          <button
            type="button"
            onClick={() => {
              if (href) chain().extendMarkRange('link').setLink({ href }).run();
              setLinking(false);
              setHref('');
            }}
          >
            {t('richtext.apply')}
          </button>
        </span>
      ) : null}
    </div>
  );
}
