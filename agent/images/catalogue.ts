/**
 * Which image a run gets: its own `image`, or the catalogue's template for
 * CPU or GPU runs with the Python version filled in. The templates come from
 * the agent config (`images:`).
 */
export interface ImageCatalogue {
  cpu: string;
  gpu: string;
  defaultPython: string;
}

export const DEFAULT_CATALOGUE: ImageCatalogue = {
  cpu: "berth/ssh:py{python}",
  gpu: "berth/ssh:py{python}-cuda",
  defaultPython: "3.11",
};

export function resolveImage(catalogue: ImageCatalogue, request: { image?: string; python?: string; gpus: number }): string {
  if (request.image) return request.image;
  const template = request.gpus > 0 ? catalogue.gpu : catalogue.cpu;
  return template.replace("{python}", request.python ?? catalogue.defaultPython);
}

/** The command that builds an image the catalogue names, for the error when it can be neither found nor pulled. */
export function buildHint(image: string): string {
  if (image.startsWith("berth/offline:")) return `berth-agent image build --offline --tag ${image}`;
  const match = /^berth\/ssh:py([\d.]+)(-cuda)?$/.exec(image);
  if (match) {
    const cuda = match[2] ? " --build-arg BASE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04" : "";
    return `docker build -t ${image} --build-arg PYTHON=${match[1]}${cuda} images/ssh`;
  }
  return `docker pull ${image} (or build it), or set the run's image`;
}
