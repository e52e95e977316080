"""Image quality: PSNR and SSIM with the SR papers' conventions (peak 255, BT.601 Y, border crop)."""

from srmer.quality.metrics import psnr, psnr_clip, rgb_to_y, ssim, ssim_clip

__all__ = ["psnr", "psnr_clip", "rgb_to_y", "ssim", "ssim_clip"]
