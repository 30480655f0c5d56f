// The grid (or grids) of the signed-in grid worker, for placing a report when GPS fails: their
// outlines, to tap a point inside, and the known places in them — the addresses of earlier
// matters there, with the points those matters were filed at. The server files a report
// under the grid its point falls in, so only points inside the worker's own grids are
// offered. The last answer is kept on the phone, for use out of coverage.
import { api } from '../../api'
import { listMatters } from '../../matters'
import type { GridInfo } from '../../types'

export interface KnownPlace {
  address: string
  lon: number
  lat: number
  grid_code: string
}

export interface MyGrid {
  codes: string[]
  names: string[]
  /** every outline in one geometry, for one map */
  outline: GeoJSON.Geometry | null
  places: KnownPlace[]
}

// A worker's jurisdiction is one grid (a grid head's, a few): far fewer than this.
const GRID_LIMIT = 50
// The recent matters read for their addresses, and how many places are offered.
const MATTER_LIMIT = 200
const PLACE_LIMIT = 30

function cacheKey(userId: number): string {
  return `fengqiao.worker.grid.${userId}`
}

export function keptGrid(userId: number): MyGrid | null {
  try {
    const kept = JSON.parse(localStorage.getItem(cacheKey(userId)) ?? 'null') as MyGrid | null
    return kept && Array.isArray(kept.codes) && Array.isArray(kept.places) ? kept : null
  } catch {
    return null
  }
}

/** Distinct addresses, newest first, of matters filed with a point in one of `codes`. */
export function placesOf(
  matters: { address: string | null; lon: number | null; lat: number | null; grid_code: string | null }[],
  codes: string[],
): KnownPlace[] {
  const seen = new Set<string>()
  const places: KnownPlace[] = []
  for (const m of matters) {
    const address = m.address?.trim()
    if (!address || m.lon === null || m.lat === null || !m.grid_code || !codes.includes(m.grid_code)) continue
    if (seen.has(address)) continue
    seen.add(address)
    places.push({ address, lon: m.lon, lat: m.lat, grid_code: m.grid_code })
    if (places.length >= PLACE_LIMIT) break
  }
  return places
}

export async function loadMyGrid(userId: number): Promise<MyGrid> {
  const [grids, page] = await Promise.all([
    api.get<GridInfo[]>('/api/grids', { geometry: true, limit: GRID_LIMIT }),
    listMatters({ sort: '-reported_at', limit: MATTER_LIMIT }),
  ])
  const shapes = grids.map((g) => g.geometry).filter((g): g is GeoJSON.Geometry => !!g)
  const codes = grids.map((g) => g.code)
  const mine: MyGrid = {
    codes,
    names: grids.map((g) => g.name),
    outline: shapes.length === 1 ? shapes[0] : shapes.length ? { type: 'GeometryCollection', geometries: shapes } : null,
    places: placesOf(page.items, codes),
  }
  try {
    localStorage.setItem(cacheKey(userId), JSON.stringify(mine))
  } catch {
    /* storage full: used from memory all the same */
  }
  return mine
}
