// Photos chosen on the phone before they are sent: made small for a slow network and shown
// from object URLs, which are released when a photo leaves the list.
import { shrinkPhoto } from './offline'

export interface Photo {
  blob: Blob
  url: string
}

export async function photosFrom(files: Iterable<File>): Promise<Photo[]> {
  const photos: Photo[] = []
  for (const file of files) {
    const blob = await shrinkPhoto(file)
    photos.push({ blob, url: URL.createObjectURL(blob) })
  }
  return photos
}

export function releasePhotos(photos: Photo[]): void {
  photos.forEach((p) => URL.revokeObjectURL(p.url))
}
