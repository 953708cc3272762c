// Saving something the UI made (a CSV of a run's metrics, a chart as PNG or SVG) as a file the
// browser downloads (Electron shows its save dialog for the same link).

/** Offers `data` as a download named `name`. */
export function saveFile(name: string, data: Blob): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken its copy once click() returns; the URL is released a little later.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A data: URL's bytes as a Blob. */
export function dataUrlBlob(url: string): Blob {
  const comma = url.indexOf(',');
  const head = url.slice(5, comma);
  const type = head.split(';')[0] || 'application/octet-stream';
  const body = url.slice(comma + 1);
  if (head.endsWith(';base64')) {
    const bin = atob(body);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Blob([bytes], { type });
  }
  return new Blob([decodeURIComponent(body)], { type });
}
