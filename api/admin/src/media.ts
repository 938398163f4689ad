// Media helpers both the media library and the editor's image field use.
import type { Schemas } from './api';
import { apiUrl } from './origin';
import { session } from './session';

export type Media = Schemas['MediaItem'];

/** Renditions an <img> shows well (not the fill crops), as URLs this page
 * can load (the api's `/media/...` URLs are relative to the api). */
function viewable(media: Media) {
  return media.renditions
    .filter((r) => !r.fill && (r.format === 'webp' || r.format === 'svg' || r.format === 'jpeg'))
    .map((r) => ({ width: r.width, url: apiUrl(r.url) }));
}

/** The smallest rendition that shows well as a thumbnail. */
export function thumbnailOf(media: Media): string | undefined {
  return viewable(media).sort((a, b) => a.width - b.width)[0]?.url;
}

/** Uploads `file` with `alt`, reporting progress (0..1); answers the media
 * or the API's problem. XHR, not fetch: fetch reports no upload progress. */
export function upload(file: File, alt: string, progress: (done: number) => void): Promise<Media | Schemas['Problem']> {
  return new Promise((resolve) => {
    const form = new FormData();
    form.append('file', file);
    form.append('alt', alt);
    const request = new XMLHttpRequest();
    request.open('POST', apiUrl('/api/v1/media'));
    request.setRequestHeader('Authorization', `Bearer ${session.accessToken() ?? ''}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    request.onload = () => {
      try {
        resolve(JSON.parse(request.responseText));
      } catch {
        resolve({ type: 'about:blank', title: 'Upload failed', status: request.status, detail: request.statusText });
      }
    };
    request.onerror = () => resolve({ type: 'about:blank', title: 'Upload failed', status: 0, detail: 'network error' });
    request.send(form);
  });
}

/** A rendition about `width` wide, for a larger view. */
export function renditionNear(media: Media, width: number): string | undefined {
  return viewable(media).sort((a, b) => Math.abs(a.width - width) - Math.abs(b.width - width))[0]?.url;
}
