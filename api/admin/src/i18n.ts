// The interface in English and Russian; the choice follows the browser and
// can be switched (kept for the tab only).
import { useSyncExternalStore } from 'react';

const en = {
  'app.title': 'CMS admin',
  'login.title': 'Sign in',
  'login.email': 'Email',
  'login.password': 'Password',
  'login.tenant': 'Tenant (slug, optional)',
  'login.submit': 'Sign in',
  'nav.sites': 'Sites',
  'nav.logout': 'Sign out',
  'nav.tenant': 'Tenant',
  'nav.language': 'Language',
  'sites.title': 'Sites',
  'sites.empty': 'No sites yet.',
  'sites.locales': 'Locales',
  'sites.pages': 'Pages',
  'pages.title': 'Pages of {site}',
  'pages.status': 'Status',
  'pages.locale': 'Locale',
  'pages.search': 'Path starts with',
  'pages.any': 'Any',
  'pages.path': 'Path',
  'pages.page_title': 'Title',
  'pages.updated': 'Updated',
  'pages.empty': 'No pages match.',
  'pages.more': 'Load more',
  'status.draft': 'Draft',
  'status.published': 'Published',
  'status.scheduled': 'Scheduled',
  'status.archived': 'Archived',
  'common.loading': 'Loading…',
  'common.back': 'Back',
  'role.viewer': 'viewer',
  'role.editor': 'editor',
  'role.admin': 'admin',
  'role.owner': 'owner',
  'role.doctor': 'doctor',
  'role.patient': 'patient',
} as const;

type Key = keyof typeof en;

const ru: Record<Key, string> = {
  'app.title': 'Админка CMS',
  'login.title': 'Вход',
  'login.email': 'Эл. почта',
  'login.password': 'Пароль',
  'login.tenant': 'Клиент (slug, необязательно)',
  'login.submit': 'Войти',
  'nav.sites': 'Сайты',
  'nav.logout': 'Выйти',
  'nav.tenant': 'Клиент',
  'nav.language': 'Язык',
  'sites.title': 'Сайты',
  'sites.empty': 'Сайтов пока нет.',
  'sites.locales': 'Языки',
  'sites.pages': 'Страницы',
  'pages.title': 'Страницы сайта {site}',
  'pages.status': 'Статус',
  'pages.locale': 'Язык',
  'pages.search': 'Путь начинается с',
  'pages.any': 'Любой',
  'pages.path': 'Путь',
  'pages.page_title': 'Заголовок',
  'pages.updated': 'Изменена',
  'pages.empty': 'Нет подходящих страниц.',
  'pages.more': 'Показать ещё',
  'status.draft': 'Черновик',
  'status.published': 'Опубликована',
  'status.scheduled': 'Запланирована',
  'status.archived': 'В архиве',
  'common.loading': 'Загрузка…',
  'common.back': 'Назад',
  'role.viewer': 'читатель',
  'role.editor': 'редактор',
  'role.admin': 'администратор',
  'role.owner': 'владелец',
  'role.doctor': 'врач',
  'role.patient': 'пациент',
};

export type Language = 'en' | 'ru';
const dictionaries: Record<Language, Record<Key, string>> = { en, ru };

let language: Language = navigator.language.toLowerCase().startsWith('ru') ? 'ru' : 'en';
const listeners = new Set<() => void>();

export function setLanguage(next: Language) {
  language = next;
  document.documentElement.lang = next;
  for (const listener of listeners) listener();
}

/** The current language's texts; re-renders the caller when it changes. */
export function useT(): { t: (key: Key, values?: Record<string, string>) => string; language: Language } {
  const current = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => language,
  );
  const t = (key: Key, values: Record<string, string> = {}) =>
    dictionaries[current][key].replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? '');
  return { t, language: current };
}

export type TextKey = Key;
