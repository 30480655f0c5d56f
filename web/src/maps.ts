// Every Leaflet map of the console starts here. No base tiles by default: the map is drawn on
// a plain background and fetches nothing from outside. To add a base layer, put a Leaflet tile
// URL template into local storage, e.g.
//   localStorage.setItem('fengqiao.tiles', 'https://tiles.example.gov.cn/{z}/{x}/{y}.png')
// (an intranet tile server in WGS84 / Web Mercator); remove the key to go back to none.
import L from 'leaflet'

export const TILES_KEY = 'fengqiao.tiles'
const MAX_ZOOM = 19

/** A map in `el`; `tiled` says whether a base layer was added. */
export function createMap(el: HTMLElement, options: L.MapOptions = {}): { map: L.Map; tiled: boolean } {
  // maxZoom: the marker clusters need one, and with no tile layer nothing else sets it.
  const map = L.map(el, { attributionControl: false, maxZoom: MAX_ZOOM, ...options })
  const tiles = localStorage.getItem(TILES_KEY)
  if (tiles) L.tileLayer(tiles, { maxZoom: MAX_ZOOM }).addTo(map)
  return { map, tiled: !!tiles }
}
